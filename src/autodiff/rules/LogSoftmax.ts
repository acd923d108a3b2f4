import type { GradRuleDef } from '../types.js';
// d log_softmax(x) along axis = dy - exp(y) * sum(dy, axis).
export const rule: GradRuleDef = {
  ops: ['LogSoftmax'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const y = node.outputs[0]!;
    const axis = node.attrInt('axis', -1);
    const ax = axis < 0 ? axis + y.rank : axis;
    return [b.sub(dy, b.mul(b.op.Exp!([y]), b.reduceSum(dy, [ax], true)))];
  },
};
