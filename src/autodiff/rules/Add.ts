import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';

// d(a + b) = dy for both inputs, summed back over broadcast axes.
export const rule: GradRuleDef = {
  ops: ['Add'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [undefined, undefined];
    return node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, dy, v!.shape) : undefined));
  },
};
