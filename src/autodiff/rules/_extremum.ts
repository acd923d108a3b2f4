import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';

// Shared by Max.ts and Min.ts (element-wise, variadic, broadcasting): y = max/min(x_1..x_k),
// dx_i = dy * [x_i == y] / #{j : x_j == y}, summed over x_i's broadcast axes. Ties split evenly, as PyTorch's
// binary maximum/minimum backward does (grad / 2 at a tie).
export function extremumRule(op: 'Max' | 'Min'): GradRuleDef {
  return {
    ops: [op],
    grad: ({ b, node, gradOut: [dy], needs }) => {
      if (!dy) return [];
      if (node.inputs.length === 1) return [needs[0] ? dy : undefined];
      const y = node.outputs[0]!;
      const hits = node.inputs.map((v) => mask(b, b.op.Equal!([v!, y])));
      const share = b.div(dy, b.op.Sum!(hits));
      return node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, b.mul(share, hits[i]!), v!.shape) : undefined));
    },
  };
}
