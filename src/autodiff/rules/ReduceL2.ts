import { reducedView } from '../reduce.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';

// d ||x||_2 = dy * x / y (0 where the norm is 0, as PyTorch's norm backward).
export const rule: GradRuleDef = {
  ops: ['ReduceL2'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const { x, g, y } = reducedView(b, node, dy);
    const zero = b.op.Equal!([y, 0]);
    const safe = b.op.Where!([zero, b.constant(1, 'float32'), y]);
    return [b.mul(b.mul(x, b.div(g, safe)), mask(b, b.op.Not!([zero])))];
  },
};
