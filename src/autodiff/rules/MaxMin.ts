import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
import { mask } from '../unary.js';
// d max(a, b) / d min(a, b): dy goes to the input equal to the output; ties are split evenly between them.
export const rule: GradRuleDef = {
  ops: ['Max', 'Min'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const y = node.outputs[0]!;
    const hits = node.inputs.map((v) => mask(b, b.op.Equal!([v!, y])));
    const count = hits.length === 1 ? hits[0]! : b.op.Sum!(hits);
    return node.inputs.map((v, i) => (needs[i] ? unbroadcast(b, b.div(b.mul(dy, hits[i]!), count), v!.shape) : undefined));
  },
};
