import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';

function swapLast(b: Builder, v: Value): Value {
  const r = v.rank;
  return b.transpose(v, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

// Y = A @ B (batched, broadcast): dA = dY @ B^T, dB = A^T @ dY, each summed over broadcast batch axes; 1-D operands
// are treated as [1,K] / [K,1] matrices as numpy does.
export const rule: GradRuleDef = {
  ops: ['MatMul'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [a, bm] = [node.input(0), node.input(1)];
    const a2 = a.rank === 1 ? b.reshape(a, [1, a.shape[0]!]) : a;
    const b2 = bm.rank === 1 ? b.reshape(bm, [bm.shape[0]!, 1]) : bm;
    const outShape = [...dy.shape];
    if (a.rank === 1) outShape.splice(outShape.length - (bm.rank === 1 ? 0 : 1), 0, 1);
    if (bm.rank === 1) outShape.push(1);
    const dy2 = outShape.length === dy.rank ? dy : b.reshape(dy, outShape);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) {
      const g = unbroadcast(b, b.matmul(dy2, swapLast(b, b2)), a2.shape);
      grads[0] = a.rank === 1 ? b.reshape(g, a.shape) : g;
    }
    if (needs[1]) {
      const g = unbroadcast(b, b.matmul(swapLast(b, a2), dy2), b2.shape);
      grads[1] = bm.rank === 1 ? b.reshape(g, bm.shape) : g;
    }
    return grads;
  },
};
