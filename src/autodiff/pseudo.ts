import type { Builder } from '../ir/builder.js';
import type { Value } from '../ir/graph.js';

// Private domain of the compiler's pseudo-ops: they exist between autodiff and expansion, never in a saved model.
export const PSEUDO_DOMAIN = 'ai.onnx_distill';

// Reduce over batch and spatial axes in two stages: one long reduction loses float32 precision.
// ReduceSumSquare sums squares in its first (spatial) stage without a full-size Mul; the batch stage then sums.
export function reduceNHW(b: Builder, v: Value, op: 'ReduceMean' | 'ReduceSum' | 'ReduceSumSquare'): Value {
  const r = v.rank;
  const spatial = Array.from({ length: r - 2 }, (_, i) => i + 2);
  if (!spatial.length) return b.node(op, [v, b.constant([0], 'int64')], { keepdims: 1 })[0]!;
  const first = b.node(op, [v, b.constant(spatial, 'int64')], { keepdims: 1 })[0]!;
  return b.node(op === 'ReduceSumSquare' ? 'ReduceSum' : op, [first, b.constant([0], 'int64')], { keepdims: 1 })[0]!;
}

// s * v + t per channel (axis 1) in one full-size pass: an inference-form BatchNormalization with mean 0, var 1 and
// epsilon 0 (onnxruntime folds it to exactly that), where Mul then Add would write the tensor twice.
export function channelAffine(b: Builder, v: Value, s: Value, t: Value): Value {
  const c = [v.shape[1]!];
  const flat = (u: Value) => (u.rank === 1 ? u : b.reshape(u, c));
  const zeros = b.constant(new Array<number>(c[0]!).fill(0));
  const ones = b.constant(new Array<number>(c[0]!).fill(1));
  return b.op.BatchNormalization!([v, flat(s), flat(t), zeros, ones], { epsilon: 0 });
}
