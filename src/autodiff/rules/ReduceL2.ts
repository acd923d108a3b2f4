import { reduceAxes } from '../../ir/shapes/tensorOps.js';
import type { GradRuleDef } from '../types.js';
// d ||x||_2 = dy * x / y (0 where the norm is 0, as PyTorch's norm backward).
export const rule: GradRuleDef = {
  ops: ['ReduceL2'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const axes = reduceAxes(node, x.rank);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const keepdims = node.attrInt('keepdims', 1) === 1;
    const y = keepdims ? node.outputs[0]! : b.reshape(node.outputs[0]!, keep);
    const g = keepdims ? dy : b.reshape(dy, keep);
    const safe = b.op.Where!([b.op.Equal!([y, 0]), b.constant(1, 'float32'), y]);
    const zero = b.op.Cast!([b.op.Not!([b.op.Equal!([y, 0])])], { to: 1 });
    return [b.mul(b.mul(x, b.div(g, safe)), zero)];
  },
};
