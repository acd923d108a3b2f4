import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d(a - b) = (dy, -dy), each summed back over its broadcast axes.
export const rule: GradRuleDef = {
  ops: ['Sub'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    return [
      needs[0] ? unbroadcast(b, dy, node.input(0).shape) : undefined,
      needs[1] ? unbroadcast(b, b.neg(dy), node.input(1).shape) : undefined,
    ];
  },
};
