import type { Graph, Value } from './graph.js';
import { parseModel, serializeModel, type Model } from './model.js';
import type { Tensor } from './tensor.js';
import { UserError } from '../util/errors.js';

// Copy a model's graph through its bytes (the compiler never mutates the caller's model); the copy shares the
// original's weight tensors, which nothing mutates in place (passes make new tensors).
export function copyGraph(model: Model): Graph {
  // Weights are shared with the original, never copied: a 100 MB teacher is placed and probed several times per step.
  const shared: Tensor[] = [];
  return parseModel(serializeModel(model, { share: shared }).onnx, '<bytes>', { shared }).graph;
}

// The single image input of a classifier graph, or a clear error.
export function imageInput(g: Graph): Value {
  const ins = g.inputs.filter((v) => !v.constant);
  if (ins.length !== 1)
    throw new UserError(
      `the model must have exactly one image input; it has ${ins.length} (${ins.map((v) => v.name).join(', ')})`,
    );
  return ins[0]!;
}
