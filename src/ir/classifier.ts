import type { DType } from './dtype.js';
import type { Dim, Graph, Value } from './graph.js';
import { parseModel, serializeModel, type Model } from './model.js';
import { inferShapes } from './passes/shapes.js';
import type { Tensor } from './tensor.js';
import { UserError } from '../util/errors.js';

// Copy a model's graph through its bytes (the compiler never mutates the caller's model); the copy shares the
// original's weight tensors, which nothing mutates in place (passes make new tensors).
export function copyGraph(model: Model): Graph {
  // Weights are shared with the original, never copied: a 100 MB teacher is placed and probed several times per step.
  const shared: Tensor[] = [];
  return parseModel(serializeModel(model, { share: shared }).onnx, '<bytes>', { shared }).graph;
}

// A classifier's input and output as its graph declares them: what every layer reads about a model it is handed
// (the compiler placing a network, distill sizing its data, export and eval checking a file).
export interface ClassifierIO {
  // The single image input, a value of the graph read (the compiler feeds it, distill fixes its dynamic dims).
  input: Value;
  inputName: string;
  // The declared input shape ([N, C, H, W] for an image batch), dynamic dims as their names; undefined if undeclared.
  shape: Dim[] | undefined;
  dtype: DType;
  // 'NCHW' when the input is a rank-4 image batch (channels first, the layout every caller assumes); else undefined.
  layout: 'NCHW' | undefined;
  // [C, H, W] when all three are static.
  image: [number, number, number] | undefined;
  // The batch size the input declares, when it is fixed (a dynamic batch dim leaves it undefined).
  batch: number | undefined;
  // The first output (the logits) and its declared shape.
  output: Value | undefined;
  outputName: string | undefined;
  outputShape: Dim[] | undefined;
  // The last dim of the first output, when static.
  classes: number | undefined;
}

// Read a classifier's image input (exactly one non-constant input) and first output; `file` names the model in errors.
export function classifierIO(g: Graph, file?: string): ClassifierIO {
  const ins = g.inputs.filter((v) => !v.constant);
  if (ins.length !== 1)
    throw new UserError(
      `${file ? `${file}: ` : ''}expected one image input, the model has ${ins.length} (${ins.map((v) => v.name).join(', ')})`,
    );
  const x = ins[0]!;
  const shape = x.type?.shape;
  const nchw = shape?.length === 4;
  const y = g.outputs[0];
  const ys = y?.type?.shape;
  const last = ys?.[ys.length - 1];
  return {
    input: x,
    inputName: x.name,
    shape,
    dtype: x.type?.dtype ?? 'float32',
    layout: nchw ? 'NCHW' : undefined,
    image:
      nchw && shape.slice(1).every((d) => typeof d === 'number')
        ? (shape.slice(1) as [number, number, number])
        : undefined,
    batch: nchw && typeof shape[0] === 'number' ? shape[0] : undefined,
    output: y,
    outputName: y?.name,
    outputShape: ys,
    classes: typeof last === 'number' ? last : undefined,
  };
}

// The image size and class count a network must have fixed to be trained or built for (a zoo student sized like its
// teacher), or a clear error.
export function staticClassifierIO(g: Graph, file?: string): { input: [number, number, number]; classes: number } {
  const io = classifierIO(g, file);
  if (!io.image || io.classes === undefined)
    throw new UserError(
      `${file ? `${file}: ` : ''}cannot read the model's image input [N,C,H,W] and class count from its graph (input ${JSON.stringify(io.shape)}, output ${JSON.stringify(io.outputShape)}); give --input and --classes`,
    );
  return { input: io.image, classes: io.classes };
}

// Infer every value's shape at batch 1, a dynamic image dim taken as 1: enough to find taps and their channel counts.
export function probeShapes(g: Graph): ClassifierIO {
  const io = classifierIO(g);
  inferShapes(g, {
    inputShapes: { [io.inputName]: [1, ...(io.shape ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 1))] },
  });
  return io;
}
