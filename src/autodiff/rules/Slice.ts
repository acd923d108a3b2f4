import { sliceParams } from '../../ir/shapes/tensorOps.js';
import { UserError } from '../../util/errors.js';
import type { GradRuleDef } from '../types.js';
// d slice(x) with unit steps = dy zero-padded back to x's shape (Pad with the cut-off amounts).
export const rule: GradRuleDef = {
  ops: ['Slice'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const p = sliceParams(node, x.shape);
    if (!p) throw new UserError(`${node.label}: cannot differentiate a Slice with non-constant bounds`);
    if (p.steps.some((s) => s !== 1)) throw new UserError(`${node.label}: gradient of Slice with steps other than 1 is not supported`);
    const r = x.rank;
    const pads = new Array<number>(2 * r).fill(0);
    p.axes.forEach((ax, i) => {
      pads[ax] = p.starts[i]!;
      pads[ax + r] = x.shape[ax]! - Math.max(p.ends[i]!, p.starts[i]!);
    });
    return [b.op.Pad!([dy, b.constant(pads, 'int64')])];
  },
};
