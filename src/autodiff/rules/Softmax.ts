import type { GradRuleDef } from '../types.js';
// d softmax(x) along axis = y * (dy - sum(dy * y, axis)).
export const rule: GradRuleDef = {
  ops: ['Softmax'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const y = node.outputs[0]!;
    const axis = node.attrInt('axis', -1);
    const ax = axis < 0 ? axis + y.rank : axis;
    return [b.mul(y, b.sub(dy, b.reduceSum(b.mul(dy, y), [ax], true)))];
  },
};
