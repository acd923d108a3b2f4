import type { Builder } from '../ir/builder.js';
import type { Value } from '../ir/graph.js';

// Private domain of the compiler's pseudo-ops: they exist between autodiff and expansion, never in a saved model.
export const PSEUDO_DOMAIN = 'ai.onnx_distill';

// Reduce over batch and spatial axes in two stages: one long reduction loses float32 precision.
export function reduceNHW(b: Builder, v: Value, op: 'ReduceMean' | 'ReduceSum'): Value {
  const r = v.rank;
  const spatial = Array.from({ length: r - 2 }, (_, i) => i + 2);
  const first = spatial.length ? b.node(op, [v, b.constant(spatial, 'int64')], { keepdims: 1 })[0]! : v;
  return b.node(op, [first, b.constant([0], 'int64')], { keepdims: 1 })[0]!;
}
