import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d sum(x_1..x_k) = dy for each input, summed over its broadcast axes.
export const rule: GradRuleDef = {
  ops: ['Sum'],
  grad: ({ b, node, gradOut: [dy], needs }) =>
    dy ? node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, dy, v!.shape) : undefined)) : [],
};
