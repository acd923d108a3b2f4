import type { GradRuleDef } from '../types.js';

// d relu(x) = dy where y > 0, else 0 (the subgradient at 0 is 0, as in PyTorch); one Where instead of mask-cast-multiply.
export const rule: GradRuleDef = {
  ops: ['Relu'],
  grad: ({ b, node, gradOut: [dy] }) => {
    if (!dy) return [undefined];
    const y = node.outputs[0]!;
    return [b.op.Where!([b.op.Greater!([y, 0]), dy, b.constant(0, dy.dtype)])];
  },
};
