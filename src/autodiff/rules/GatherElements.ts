import { normAxis } from '../../ir/shapes/util.js';
import type { GradRuleDef } from '../types.js';
// y[i][j] = x[idx[i][j]][j] (axis 0, likewise others): dx = ScatterElements(zeros, idx, dy, axis, reduction 'add'),
// so repeated indices accumulate. No gradient to idx.
export const rule: GradRuleDef = {
  ops: ['GatherElements'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const [x, idx] = [node.input(0), node.input(1)];
    const zeros = b.op.ConstantOfShape!([b.constant(x.shape, 'int64')]);
    return [
      b.op.ScatterElements!([zeros, idx, dy], { axis: normAxis(node.attrInt('axis', 0), x.rank), reduction: 'add' }),
    ];
  },
};
