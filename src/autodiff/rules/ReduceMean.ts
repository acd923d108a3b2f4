import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';

// d mean(x, axes) = dy / count expanded back over the reduced axes.
export const rule: GradRuleDef = {
  ops: ['ReduceMean'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const { x, axes, g } = reducedView(b, node, dy);
    const count = axes.reduce((p, a) => p * x.shape[a]!, 1);
    return [b.op.Expand!([b.mul(g, 1 / count), b.constant(x.shape, 'int64')])];
  },
};
