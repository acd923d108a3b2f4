import { Builder } from '../ir/builder.js';
import { Graph, type Value } from '../ir/graph.js';
import { Model, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { Tensor } from '../ir/tensor.js';
import { UserError } from '../util/errors.js';
import { placeNetwork, type NetworkSpec } from './network.js';
import { TRAIN_OPSET } from './opset.js';
import { liftToInputs } from './params.js';

// Options of an inference graph over several networks: which outputs, and where the weights come from.
export interface InferenceOptions {
  // Networks whose softmax probabilities are averaged into the output `ensemble`.
  ensemble?: string[];
  // Bake these values (by state name) into the graph; without it, trainable weights are graph inputs read from state.
  weights?: Record<string, Float32Array>;
  // Output only the ensemble probabilities (a deployable ensemble model), not each network's logits.
  ensembleOnly?: boolean;
}

// An inference graph of several networks on one dynamic-batch input: BatchNorm in inference form, outputs
// `logits.<name>` per network and optionally `ensemble` (mean of the members' softmax). State names match the step's.
export function compileInference(networks: NetworkSpec[], o: InferenceOptions = {}): { graph: Graph; bytes: Uint8Array; stateNames: string[] } {
  const g = new Graph('inference');
  const dims = networks[0]!.model.graph.inputs.find((v) => !v.constant)?.type?.shape ?? [];
  const x = g.value('input', { dtype: 'float32', shape: ['N', ...dims.slice(1)] });
  g.inputs.push(x);
  const placed = networks.map((n) => placeNetwork(g, x, n, { mode: 'infer' }));
  const b = new Builder(g, 'infer');
  const outputs: Value[] = [];
  if (!o.ensembleOnly) for (const p of placed) outputs.push(b.identity(p.logits, `logits.${p.spec.name}`));
  if (o.ensemble?.length) {
    const members = o.ensemble.map((name) => {
      const p = placed.find((q) => q.spec.name === name);
      if (!p) throw new UserError(`ensemble member '${name}' is not a network of this run`);
      return b.op.Softmax!([p.logits], { axis: 1 });
    });
    outputs.push(b.identity(members.length === 1 ? members[0]! : b.op.Mean!(members), o.ensembleOnly ? 'probabilities' : 'ensemble'));
  }
  const learned = placed.flatMap((p) => [...p.params, ...p.buffers]);
  if (o.weights) {
    for (const v of learned) {
      const w = o.weights[v.name];
      if (!w) throw new Error(`no trained value for '${v.name}'`);
      v.constant = new Tensor('float32', v.constant!.dims, w);
    }
  } else liftToInputs(g, learned);
  g.outputs = outputs;
  eliminateDeadCode(g);
  return { graph: g, bytes: serializeModel(new Model(g, new Map([['', TRAIN_OPSET]]))).onnx, stateNames: o.weights ? [] : learned.map((v) => v.name) };
}
