import type { Graph, Value } from './graph.js';
import { parseModel, serializeModel, type Model } from './model.js';
import { UserError } from '../util/errors.js';

// Deep-copy a model's graph through its bytes (the compiler never mutates the caller's model).
export function copyGraph(model: Model): Graph {
  return parseModel(serializeModel(model).onnx).graph;
}

// The single image input of a classifier graph, or a clear error.
export function imageInput(g: Graph): Value {
  const ins = g.inputs.filter((v) => !v.constant);
  if (ins.length !== 1) throw new UserError(`the model must have exactly one image input; it has ${ins.length} (${ins.map((v) => v.name).join(', ')})`);
  return ins[0]!;
}
