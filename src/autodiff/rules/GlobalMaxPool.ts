import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';
// d max over H,W = dy at the maxima (ties split evenly).
export const rule: GradRuleDef = {
  ops: ['GlobalMaxPool'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const spatial = x.shape.slice(2).map((_, i) => i + 2);
    const hit = mask(b, b.op.Equal!([x, node.outputs[0]!]));
    return [b.mul(hit, b.div(dy, b.reduceSum(hit, spatial, true)))];
  },
};
