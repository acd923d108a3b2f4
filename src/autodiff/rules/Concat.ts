import { normAxis } from '../../ir/shapes/util.js';
import type { GradRuleDef } from '../types.js';
// d concat(x_1..x_k) = split(dy) at the inputs' sizes along the axis.
export const rule: GradRuleDef = {
  ops: ['Concat'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const ax = normAxis(node.attrInt('axis'), dy.rank);
    const sizes = node.inputs.map((v) => v!.shape[ax]!);
    const parts = b.node('Split', [dy, b.constant(sizes, 'int64')], { axis: ax }, { outputs: sizes.length });
    return parts.map((p, i) => (needs[i] ? p : undefined));
  },
};
