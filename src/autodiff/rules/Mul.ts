import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';

// d(a * b) = (dy * b, dy * a), each summed back over its broadcast axes.
export const rule: GradRuleDef = {
  ops: ['Mul'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [undefined, undefined];
    const [x, y] = [node.input(0), node.input(1)];
    return [
      needs[0] ? unbroadcast(b, b.mul(dy, y), x.shape) : undefined,
      needs[1] ? unbroadcast(b, b.mul(dy, x), y.shape) : undefined,
    ];
  },
};
