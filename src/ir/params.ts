import type { Graph, Value } from './graph.js';
import { isFloat } from './dtype.js';

// Input slots that hold learned weights, by op type.
const WEIGHT_SLOTS: Record<string, number[]> = {
  Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [0, 1, 2], MatMul: [0, 1], BatchNormalization: [1, 2], PRelu: [1],
  InstanceNormalization: [1, 2], LayerNormalization: [1, 2],
};

// The float initializers a network learns (weights) and the ones it only updates (BatchNorm running statistics).
export function classifyInitializers(g: Graph): { params: Value[]; buffers: Value[] } {
  const params = new Set<Value>();
  const buffers = new Set<Value>();
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    if (n.opType === 'BatchNormalization') {
      for (const i of [3, 4]) if (n.inputs[i]?.constant) buffers.add(n.inputs[i]!);
    }
    const slots = WEIGHT_SLOTS[n.opType] ?? [];
    n.inputs.forEach((v, i) => {
      if (!v?.constant || !isFloat(v.dtype) || !g.initializers.includes(v)) return;
      const learned = slots.includes(i) || ((n.opType === 'Add' || n.opType === 'Mul') && v.constant.size > 1 && !v.name.startsWith('onnx::'));
      if (learned) params.add(v);
    });
  }
  for (const b of buffers) params.delete(b);
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
      if (extra.uses.length || g.outputs.includes(extra)) throw new Error(`${n.label}: running-statistics outputs are used by other nodes; cannot make it an inference node`);
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
    const slots = n.opType === 'BatchNormalization' || n.opType === 'InstanceNormalization' || n.opType === 'LayerNormalization' ? [1, 2]
      : n.opType === 'Conv' || n.opType === 'ConvTranspose' || n.opType === 'Gemm' ? [2] : [];
    for (const i of slots) if (n.inputs[i]?.constant) out.add(n.inputs[i]!.name);
  }
  return out;
}
