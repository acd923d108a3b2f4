import { reduceAxes } from '../../ir/shapes/tensorOps.js';
import type { GradRuleDef } from '../types.js';

// d sum(x) = dy expanded back over the reduced axes.
export const rule: GradRuleDef = {
  ops: ['ReduceSum'],
  grad: ({ b, node, gradOut: [dy] }) => {
    if (!dy) return [undefined];
    const x = node.input(0);
    const axes = reduceAxes(node, x.rank);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const g = node.attrInt('keepdims', 1) ? dy : b.reshape(dy, keep);
    return [b.op.Expand!([g, b.constant(x.shape, 'int64')])];
  },
};
