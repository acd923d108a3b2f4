import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d expand(x) = dy summed back over the expanded axes.
export const rule: GradRuleDef = {
  ops: ['Expand'],
  grad: ({ b, node, gradOut: [dy], needs }) => (dy && needs[0] ? [unbroadcast(b, dy, node.input(0).shape)] : []),
};
