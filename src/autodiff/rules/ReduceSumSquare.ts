import { reduceAxes } from '../../ir/shapes/tensorOps.js';
import type { GradRuleDef } from '../types.js';
// d sum(x^2, axes) = 2 * x * dy (dy expanded over the reduced axes).
export const rule: GradRuleDef = {
  ops: ['ReduceSumSquare'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const axes = reduceAxes(node, x.rank);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const g = node.attrInt('keepdims', 1) ? dy : b.reshape(dy, keep);
    return [b.mul(b.mul(x, 2), g)];
  },
};
