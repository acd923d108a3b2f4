import { normAxis } from '../../ir/shapes/util.js';
import type { GradRuleDef } from '../types.js';
// d split(x) = concat of the outputs' gradients, zeros where an output has none.
export const rule: GradRuleDef = {
  ops: ['Split'],
  grad: ({ b, node, gradOut, needs }) => {
    if (!needs[0]) return [];
    const x = node.input(0);
    const ax = normAxis(node.attrInt('axis', 0), x.rank);
    const parts = node.outputs.map((o, i) => gradOut[i] ?? b.op.ConstantOfShape!([b.constant(o.shape, 'int64')]));
    return [parts.length === 1 ? parts[0]! : b.op.Concat!(parts, { axis: ax })];
  },
};
