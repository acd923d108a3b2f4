import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';

// Shared by ReduceMax.ts and ReduceMin.ts: dx = dy at the positions equal to the reduced value, split evenly between
// ties (PyTorch's amax/amin convention; torch.max(dim) would give one index everything).
export function reduceExtremumRule(op: 'ReduceMax' | 'ReduceMin'): GradRuleDef {
  return {
    ops: [op],
    grad: ({ b, node, gradOut: [dy], needs }) => {
      if (!dy || !needs[0]) return [];
      const { x, axes, g, y } = reducedView(b, node, dy);
      const hit = mask(b, b.op.Equal!([x, y]));
      return [b.mul(hit, b.div(g, b.reduceSum(hit, axes, true)))];
    },
  };
}
