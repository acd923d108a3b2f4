import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// d x^p = dy * p * x^(p-1);  d/dp = dy * y * log(x) (x > 0).
export const rule: GradRuleDef = {
  ops: ['Pow'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, p] = [node.input(0), node.input(1)];
    const y = node.outputs[0]!;
    return [
      needs[0] ? unbroadcast(b, b.mul(dy, b.mul(p, b.op.Pow!([x, b.sub(p, 1)]))), x.shape) : undefined,
      needs[1] ? unbroadcast(b, b.mul(dy, b.mul(y, b.op.Log!([x]))), p.shape) : undefined,
    ];
  },
};
