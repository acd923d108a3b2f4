import type { GradRuleDef } from '../types.js';

// d relu(x) = dy where y > 0 (the subgradient at 0 is 0, as in PyTorch).
export const rule: GradRuleDef = {
  ops: ['Relu'],
  grad: ({ b, node, gradOut: [dy] }) => {
    if (!dy) return [undefined];
    const y = node.outputs[0]!;
    const mask = b.op.Cast!([b.op.Greater!([y, 0])], { to: 1 });
    return [b.mul(dy, mask)];
  },
};
