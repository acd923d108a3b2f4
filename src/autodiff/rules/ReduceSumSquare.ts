import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';

// d sum(x^2, axes) = 2 * x * dy (dy expanded over the reduced axes).
export const rule: GradRuleDef = {
  ops: ['ReduceSumSquare'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const { x, g } = reducedView(b, node, dy);
    return [b.mul(b.mul(x, 2), g)];
  },
};
