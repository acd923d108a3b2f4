// MLP heads on an embedding (methods.md §1.3): MGD's granularity branch, an encoder Linear(D,D)→ReLU→Linear(D,d)
// whose output is the value `code`, then a decoder Linear(d,D)→ReLU→Linear(D,C) to logits. Weights laid out as
// PyTorch's nn.Linear ([out, in], Gemm transB 1) under the names of an nn.Sequential pair `enc` / `dec`.
import type { Builder } from '../ir/builder.js';
import { addInput, newGraph } from '../ir/builder.js';
import type { Value } from '../ir/graph.js';
import { newModel, type Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { Rng, uniformTensor } from '../ir/init.js';

export interface HeadOptions {
  inDim: number;
  codeDim: number;
  classes: number;
  seed: number;
  // Given weights by name (enc.0.weight, ...), e.g. a PyTorch reference's; missing ones are drawn from `seed`.
  weights?: Record<string, Float32Array>;
}

// Linear layer y = x Wᵀ + b with PyTorch's default init U(±1/√in) for weight and bias.
export function linear(
  b: Builder,
  x: Value,
  name: string,
  out: number,
  param: (name: string, t: Tensor) => Value,
  rng: Rng,
): Value {
  const inDim = x.shape[1]!;
  const bound = 1 / Math.sqrt(inDim);
  const w = param(`${name}.weight`, uniformTensor(rng, [out, inDim], bound));
  const bias = param(`${name}.bias`, uniformTensor(rng, [out], bound));
  return b.op.Gemm!([x, w, bias], { transB: 1 });
}

// A granularity head as a network: input `embedding` [N, D], output logits [N, C], tap `code` [N, d].
export function granularityHead(o: HeadOptions): Model {
  const { graph: g, b } = newGraph(`granularity_${o.codeDim}`);
  const x = addInput(g, 'embedding', 'float32', ['N', o.inDim]);
  x.type = { dtype: 'float32', shape: [1, o.inDim] };
  const rng = new Rng(o.seed);
  const param = (name: string, t: Tensor) => {
    const given = o.weights?.[name];
    return g.addInitializer(name, given ? new Tensor('float32', [...t.dims], Float32Array.from(given)) : t);
  };
  const code = b.identity(
    linear(b, b.op.Relu!([linear(b, x, 'enc.0', o.inDim, param, rng)]), 'enc.2', o.codeDim, param, rng),
    'code',
  );
  const logits = b.identity(
    linear(b, b.op.Relu!([linear(b, code, 'dec.0', o.inDim, param, rng)]), 'dec.2', o.classes, param, rng),
    'logits',
  );
  // Shapes were built at batch 1; only the input's stays (with a dynamic batch), the rest is inferred where placed.
  for (const v of g.values.values()) if (v !== x && !v.constant) v.type = { dtype: 'float32' };
  x.type = { dtype: 'float32', shape: ['N', o.inDim] };
  g.outputs = [logits];
  return newModel(g);
}
