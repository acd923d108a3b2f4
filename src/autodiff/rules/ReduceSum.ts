import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';

// d sum(x) = dy expanded back over the reduced axes.
export const rule: GradRuleDef = {
  ops: ['ReduceSum'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const { x, g } = reducedView(b, node, dy);
    return [b.op.Expand!([g, b.constant(x.shape, 'int64')])];
  },
};
