import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d mean(x_1..x_k) = dy / k for each input, summed over its broadcast axes.
export const rule: GradRuleDef = {
  ops: ['Mean'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const g = b.mul(dy, 1 / node.inputs.length);
    return node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, g, v!.shape) : undefined));
  },
};
