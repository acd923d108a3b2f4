import { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { toInferenceForm } from '../compiler/inferenceForm.js';
import { copyGraph } from '../ir/classifier.js';
import type { TensorData } from '../runtime/tensor.js';
import { setClassifierMetadata } from '../ir/metadata.js';

// The deployable model: the original graph with trained weights and running stats baked in; class names and the
// preprocessing (normalisation, input size, crop) in metadata so predictions map to names from raw images.
export function exportTrained(
  model: Model,
  state: Record<string, TensorData>,
  classes: string[],
  preprocess?: unknown,
): Model {
  const g = copyGraph(model);
  toInferenceForm(g);
  for (const v of g.initializers) {
    const t = state[v.name];
    if (t) v.constant = new Tensor('float32', t.dims, t.data as Float32Array);
  }
  const out = new Model(g, new Map(model.opsets), model.proto);
  setClassifierMetadata(out, classes, preprocess);
  return out;
}
