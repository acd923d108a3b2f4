import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d where(c, a, b) = (where(c, dy, 0), where(c, 0, dy)); the condition has no gradient.
export const rule: GradRuleDef = {
  ops: ['Where'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const c = node.input(0);
    const zero = b.constant(0, dy.dtype);
    return [
      undefined,
      needs[1] ? unbroadcast(b, b.op.Where!([c, dy, zero]), node.input(1).shape) : undefined,
      needs[2] ? unbroadcast(b, b.op.Where!([c, zero, dy]), node.input(2).shape) : undefined,
    ];
  },
};
