import { unbroadcast } from '../broadcast.js';
import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
// y = x (x > 0), slope * x otherwise (slope broadcasts):  dx = dy (x > 0), dy * slope otherwise;
// dslope = sum over the broadcast axes of dy * x where x <= 0.
export const rule: GradRuleDef = {
  ops: ['PRelu'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, slope] = [node.input(0), node.input(1)];
    const pos = b.op.Greater!([x, 0]);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = unbroadcast(b, b.op.Where!([pos, dy, b.mul(dy, slope)]), x.shape);
    if (needs[1]) grads[1] = unbroadcast(b, b.op.Where!([pos, b.constant(0, dy.dtype), b.mul(dy, x)]), slope.shape);
    return grads;
  },
};
