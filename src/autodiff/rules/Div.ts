import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d(a / b) = (dy / b, -dy * a / b^2 = -dy * y / b).
export const rule: GradRuleDef = {
  ops: ['Div'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, y] = [node.input(0), node.input(1)];
    const out = node.outputs[0]!;
    return [
      needs[0] ? unbroadcast(b, b.div(dy, y), x.shape) : undefined,
      needs[1] ? unbroadcast(b, b.neg(b.div(b.mul(dy, out), y)), y.shape) : undefined,
    ];
  },
};
