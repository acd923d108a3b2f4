import type { GradRuleDef } from '../types.js';
// d transpose(x, perm) = transpose(dy, inverse(perm)).
export const rule: GradRuleDef = {
  ops: ['Transpose'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const r = node.input(0).rank;
    const perm = node.attrInts(
      'perm',
      Array.from({ length: r }, (_, i) => r - 1 - i),
    );
    const inv = new Array<number>(r);
    perm.forEach((p, i) => {
      inv[p] = i;
    });
    return [b.transpose(dy, inv)];
  },
};
