import { Model, serializeModel } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { classifyInitializers, liftToInputs, toInferenceBatchNorm } from '../compiler/params.js';
import { copyGraph } from '../compiler/trainStep.js';
import type { TensorData } from '../runtime/tensor.js';

// The evaluation graph: the network in inference form with weights and running stats as inputs, read from runtime state.
export function compileEvalGraph(model: Model): Uint8Array {
  const g = copyGraph(model);
  toInferenceBatchNorm(g);
  const { params, buffers } = classifyInitializers(g);
  liftToInputs(g, [...params, ...buffers]);
  return serializeModel(new Model(g, model.opsets)).onnx;
}

// The deployable model: the original graph with trained weights and running stats baked in; class names and the
// preprocessing (normalisation, input size, crop) in metadata so predictions map to names from raw images.
export function exportTrained(model: Model, state: Record<string, TensorData>, classes: string[], preprocess?: unknown): Model {
  const g = copyGraph(model);
  toInferenceBatchNorm(g);
  for (const v of g.initializers) {
    const t = state[v.name];
    if (t) v.constant = new Tensor('float32', t.dims, t.data as Float32Array);
  }
  const out = new Model(g, new Map(model.opsets), model.proto);
  out.setMetadata('onnx_distill.classes', JSON.stringify(classes));
  if (preprocess !== undefined) out.setMetadata('onnx_distill.preprocess', JSON.stringify(preprocess));
  return out;
}

// Initial state tensors from a model's initializers (weights and running stats).
export function initialState(model: Model, names: string[]): Record<string, TensorData> {
  const byName = new Map(model.graph.initializers.map((v) => [v.name, v.constant!]));
  const out: Record<string, TensorData> = {};
  for (const n of names) {
    const t = byName.get(n);
    if (!t) throw new Error(`initializer '${n}' not found in the model`);
    out[n] = { type: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) };
  }
  return out;
}
