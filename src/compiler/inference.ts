import { Builder } from '../ir/builder.js';
import { Graph, type Value } from '../ir/graph.js';
import { classifierIO } from '../ir/classifier.js';
import { Model, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { Tensor } from '../ir/tensor.js';
import { UserError } from '../util/errors.js';
import { placeNetworks, type NetworkSpec } from './network.js';
import { TRAIN_OPSET } from './opset.js';
import { liftToInputs } from '../ir/params.js';
import { expandFakeQuant, fakeQuantize } from './fakeQuant.js';

// Options of an inference graph over several networks: which outputs, and where the weights come from.
export interface InferenceOptions {
  // Networks whose softmax probabilities are averaged into the output `ensemble`.
  ensemble?: string[];
  // Bake these values (by state name) into the graph; without it, trainable weights are graph inputs read from state.
  weights?: Record<string, Float32Array>;
  // Output only the ensemble probabilities (a deployable ensemble model), not each network's logits.
  ensembleOnly?: boolean;
  // Networks placed only to feed the others (a frozen teacher under a grafted head); no output of their own.
  feeders?: NetworkSpec[];
  // Name the outputs `logits` instead of `logits.<name>` (a single deployable network, such as teacher+KBM).
  plainOutput?: boolean;
}

// An inference graph of several networks on one dynamic-batch input: BatchNorm in inference form, outputs
// `logits.<name>` per network and optionally `ensemble` (mean of the members' softmax). State names match the step's.
export function compileInference(
  networks: NetworkSpec[],
  o: InferenceOptions = {},
): { graph: Graph; bytes: Uint8Array; stateNames: string[] } {
  const g = new Graph('inference');
  const feeders = (o.feeders ?? []).filter((f) => !networks.some((n) => n.name === f.name));
  const order = [...feeders, ...networks].sort((a, c) => rankOf(a, networks, feeders) - rankOf(c, networks, feeders));
  const dims = classifierIO(order[0]!.model.graph).shape ?? [];
  const x = g.value('input', { dtype: 'float32', shape: ['N', ...dims.slice(1)] });
  g.inputs.push(x);
  const all = placeNetworks(g, x, order, { mode: 'infer' });
  const placed = all.filter((p) => networks.includes(p.spec));
  const b = new Builder(g, 'infer');
  const outputs: Value[] = [];
  if (!o.ensembleOnly)
    for (const p of placed)
      outputs.push(b.identity(p.logits, o.plainOutput && placed.length === 1 ? 'logits' : `logits.${p.spec.name}`));
  if (o.ensemble?.length) {
    const members = o.ensemble.map((name) => {
      const p = placed.find((q) => q.spec.name === name);
      if (!p) throw new UserError(`ensemble member '${name}' is not a network of this run`);
      return b.op.Softmax!([p.logits], { axis: 1 });
    });
    outputs.push(
      b.identity(
        members.length === 1 ? members[0]! : b.op.Mean!(members),
        o.ensembleOnly ? 'probabilities' : 'ensemble',
      ),
    );
  }
  const learned = all.flatMap((p) => [...p.params, ...p.buffers]);
  if (o.weights) {
    for (const v of learned) {
      const w = o.weights[v.name];
      if (!w) throw new Error(`no trained value for '${v.name}'`);
      v.constant = new Tensor('float32', v.constant!.dims, w);
    }
  } else liftToInputs(g, learned);
  // A quantisation-aware student is evaluated as it trains: fake-quantised as its int8 export will compute, at its
  // activation ranges as they stand (read from state, not moved by the evaluated batch).
  for (const p of all) fakeQuantize(g, p, { track: false });
  expandFakeQuant(g);
  g.outputs = outputs;
  eliminateDeadCode(g);
  return {
    graph: g,
    bytes: serializeModel(new Model(g, new Map([['', TRAIN_OPSET]]))).onnx,
    stateNames: o.weights ? [] : learned.map((v) => v.name),
  };
}

// Feeders keep their order and come first; the networks keep theirs (a network fed by another one follows it).
function rankOf(n: NetworkSpec, networks: NetworkSpec[], feeders: NetworkSpec[]): number {
  const f = feeders.indexOf(n);
  return f >= 0 ? f : feeders.length + networks.indexOf(n);
}
