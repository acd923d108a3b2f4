import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' likewise:
//   dA' = alpha dY B'^T, dB' = alpha A'^T dY (transposed back when the input was), dC = beta * dY summed over broadcast axes.
// Each product is one Gemm with trans flags, so nothing is transposed in memory.
export const rule: GradRuleDef = {
  ops: ['Gemm'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [a, bm] = [node.input(0), node.input(1)];
    const alpha = node.attrFloat('alpha', 1);
    const beta = node.attrFloat('beta', 1);
    const ta = node.attrInt('transA', 0);
    const tb = node.attrInt('transB', 0);
    const gemm = (x: typeof a, y: typeof a, transA: number, transB: number) =>
      b.op.Gemm!([x, y], { alpha, transA, transB });
    return [
      needs[0] ? (ta ? gemm(bm, dy, tb, 1) : gemm(dy, bm, 0, tb ? 0 : 1)) : undefined,
      needs[1] ? (tb ? gemm(dy, a, 1, ta) : gemm(a, dy, ta ? 0 : 1, 0)) : undefined,
      needs[2] && node.inputs[2] ? unbroadcast(b, beta === 1 ? dy : b.mul(dy, beta), node.input(2).shape) : undefined,
    ];
  },
};
