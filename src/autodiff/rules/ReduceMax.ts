import { reduceAxes } from '../../ir/shapes/tensorOps.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';
// d max(x, axes) = dy at the maxima, split evenly between ties (ReduceMin likewise at the minima).
export const rule: GradRuleDef = {
  ops: ['ReduceMax', 'ReduceMin'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const axes = reduceAxes(node, x.rank);
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const y = node.attrInt('keepdims', 1) ? node.outputs[0]! : b.reshape(node.outputs[0]!, keep);
    const g = node.attrInt('keepdims', 1) ? dy : b.reshape(dy, keep);
    const hit = mask(b, b.op.Equal!([x, y]));
    return [b.mul(hit, b.div(g, b.reduceSum(hit, axes, true)))];
  },
};
