import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d sum(x_1..x_k) = dy for each input (summed over its broadcast axes); Mean divides by k.
export const rule: GradRuleDef = {
  ops: ['Sum', 'Mean'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const g = node.opType === 'Mean' ? b.mul(dy, 1 / node.inputs.length) : dy;
    return node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, g, v!.shape) : undefined));
  },
};
