import type { Graph, Value } from './graph.js';
import { isFloat } from './dtype.js';

// Input slots that hold learned weights, by op type.
const WEIGHT_SLOTS: Record<string, number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
  PRelu: [1],
  InstanceNormalization: [1, 2],
  LayerNormalization: [1, 2],
};

// Ops that only re-lay a tensor out: a weight read through them (a Linear's weight transposed for a MatMul, a GroupNorm
// scale unsqueezed for its Mul, a class token expanded or padded into the token sequence, rows gathered from an
// embedding table such as Swin's relative position bias) is still that weight.
const VIEW_OPS = new Set([
  'Transpose',
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Expand',
  'Identity',
  'Flatten',
  'Pad',
  'Gather',
]);

// Whether a value (an initializer, or a view of one) is read as a learned weight: a weight slot, or an operand of an
// element-wise Add/Mul (biases, layer scales, position embeddings) or Concat (class tokens) that is not a scalar and not
// one of the exporter's anonymous constants (`onnx::…`).
function readAsWeight(v: Value, init: Value, depth = 0): boolean {
  return v.uses.some(({ node: n, index: i }) => {
    if (n.domain !== '') return false;
    if ((WEIGHT_SLOTS[n.opType] ?? []).includes(i)) return true;
    if (['Add', 'Mul', 'Concat'].includes(n.opType)) return init.constant!.size > 1 && !init.name.startsWith('onnx::');
    return VIEW_OPS.has(n.opType) && i === 0 && depth < 4 && readAsWeight(n.outputs[0]!, init, depth + 1);
  });
}

// The float initializers a network learns (weights) and the ones it only updates (BatchNorm running statistics).
// `stored`: names of the model file's own initializers, so Constant nodes that shape inference folded (torch's unit
// scale of the InstanceNormalization inside a GroupNorm export) are never taken for weights.
export function classifyInitializers(g: Graph, stored?: ReadonlySet<string>): { params: Value[]; buffers: Value[] } {
  const buffers = new Set<Value>();
  for (const n of g.nodes) {
    if (n.domain !== '' || n.opType !== 'BatchNormalization') continue;
    for (const i of [3, 4]) if (n.inputs[i]?.constant) buffers.add(n.inputs[i]!);
  }
  const params = new Set(
    g.initializers.filter(
      (v) => v.constant && isFloat(v.dtype) && !buffers.has(v) && (!stored || stored.has(v.name)) && readAsWeight(v, v),
    ),
  );
  const order = (s: Set<Value>) => g.initializers.filter((v) => s.has(v));
  return { params: order(params), buffers: order(buffers) };
}

// Turn initializers into graph inputs (weights fed each step), keeping their order.
export function liftToInputs(g: Graph, values: Value[]): void {
  const set = new Set(values);
  g.initializers = g.initializers.filter((v) => !set.has(v));
  for (const v of values) {
    v.constant = undefined;
    if (!g.inputs.includes(v)) g.inputs.push(v);
  }
}

// Make training-mode BatchNormalization exports plain inference nodes (one output, running statistics).
export function toInferenceBatchNorm(g: Graph): void {
  for (const n of g.nodes) {
    if (n.opType !== 'BatchNormalization' || n.domain !== '') continue;
    n.attributes.delete('training_mode');
    for (const extra of n.outputs.slice(1)) {
      if (extra.uses.length || g.outputs.includes(extra))
        throw new Error(
          `${n.label}: running-statistics outputs are used by other nodes; cannot make it an inference node`,
        );
      extra.producer = undefined;
    }
    n.outputs.length = 1;
  }
}

// Parameters conventionally exempt from weight decay: normalisation scales/shifts and biases (found by their slot, not name).
export function normAndBiasParams(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    const slots =
      n.opType === 'BatchNormalization' || n.opType === 'InstanceNormalization' || n.opType === 'LayerNormalization'
        ? [1, 2]
        : n.opType === 'Conv' || n.opType === 'ConvTranspose' || n.opType === 'Gemm'
          ? [2]
          : [];
    for (const i of slots) if (n.inputs[i]?.constant) out.add(n.inputs[i]!.name);
  }
  return out;
}
