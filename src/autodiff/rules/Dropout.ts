import type { GradRuleDef } from '../types.js';
// Dropout: with a mask output in use, dx = dy * mask / (1 - ratio); in inference form it is the identity.
export const rule: GradRuleDef = {
  ops: ['Dropout'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const maskOut = node.outputs[1];
    const training = node.inputs[2]?.constant?.toNumbers()[0] === 1;
    if (!training || !maskOut) return [dy];
    const ratio = node.inputs[1]?.constant?.toNumbers()[0] ?? node.attrFloat('ratio', 0.5);
    return [b.mul(b.mul(dy, b.op.Cast!([maskOut], { to: 1 })), 1 / (1 - ratio))];
  },
};
