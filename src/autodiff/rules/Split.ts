import { normAxis } from '../../ir/shapes/util.js';
import { arrayCtor } from '../../ir/dtype.js';
import { Tensor } from '../../ir/tensor.js';
import type { GradRuleDef } from '../types.js';
// d split(x) = concat of the outputs' gradients along the axis, zeros (of x's type) where an output has none.
// Sizes come from the outputs' static shapes, so split-as-input, split-as-attribute and num_outputs all work.
export const rule: GradRuleDef = {
  ops: ['Split'],
  grad: ({ b, node, gradOut, needs }) => {
    if (!needs[0] || gradOut.every((g) => !g)) return [];
    const x = node.input(0);
    const ax = normAxis(node.attrInt('axis', 0), x.rank);
    const zero = new Tensor(x.dtype, [1], new (arrayCtor(x.dtype))(1));
    const parts = node.outputs.map(
      (o, i) => gradOut[i] ?? b.op.ConstantOfShape!([b.constant(o.shape, 'int64')], { value: zero }),
    );
    return [parts.length === 1 ? parts[0]! : b.op.Concat!(parts, { axis: ax })];
  },
};
