import { reduceAxes } from '../../ir/shapes/tensorOps.js';
import type { GradRuleDef } from '../types.js';
// d mean(x, axes) = dy / count expanded back over the reduced axes.
export const rule: GradRuleDef = {
  ops: ['ReduceMean'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const axes = reduceAxes(node, x.rank);
    const count = axes.reduce((p, a) => p * x.shape[a]!, 1);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const g = node.attrInt('keepdims', 1) ? dy : b.reshape(dy, keep);
    return [b.op.Expand!([b.mul(g, 1 / count), b.constant(x.shape, 'int64')])];
  },
};
