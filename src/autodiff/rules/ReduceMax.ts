import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';

// d max(x, axes) = dy at the maxima, split evenly between ties (ReduceMin likewise at the minima).
export const rule: GradRuleDef = {
  ops: ['ReduceMax', 'ReduceMin'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const { x, axes, g, y } = reducedView(b, node, dy);
    const hit = mask(b, b.op.Equal!([x, y]));
    return [b.mul(hit, b.div(g, b.reduceSum(hit, axes, true)))];
  },
};
