import type { GradRuleDef } from '../types.js';
// d mean over H,W = dy / (H*W) expanded over the spatial axes.
export const rule: GradRuleDef = {
  ops: ['GlobalAveragePool'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const count = x.shape.slice(2).reduce((p, d) => p * d, 1);
    return [b.op.Expand!([b.mul(dy, 1 / count), b.constant(x.shape, 'int64')])];
  },
};
