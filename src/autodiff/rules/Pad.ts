import { constInts } from '../../ir/shapes/util.js';
import { UserError } from '../../util/errors.js';
import type { GradRuleDef } from '../types.js';
// d pad(x) in constant mode = the interior of dy (a Slice that drops the padding; negative pads re-pad with zeros).
export const rule: GradRuleDef = {
  ops: ['Pad'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const mode = node.attrString('mode', 'constant');
    if (mode !== 'constant') throw new UserError(`${node.label}: gradient of Pad in '${mode}' mode is not supported`);
    const r = x.rank;
    const raw = node.inputs[1] ? constInts(node, 1) : node.attrInts('pads');
    if (!raw) throw new UserError(`${node.label}: cannot differentiate a Pad with non-constant pads`);
    const axes = node.inputs[3] ? constInts(node, 3)!.map((a) => (a < 0 ? a + r : a)) : Array.from({ length: r }, (_, i) => i);
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((ax, i) => { pads[ax] = raw[i]!; pads[ax + r] = raw[i + axes.length]!; });
    if (pads.some((p) => p < 0)) return [b.op.Pad!([b.op.Slice!([dy, b.constant(pads.slice(0, r).map((p) => Math.max(p, 0)), 'int64'), b.constant(dy.shape.map((d, i) => d - Math.max(pads[i + r]!, 0)), 'int64')]), b.constant(pads.map((p) => Math.max(-p, 0)), 'int64')])];
    const starts = pads.slice(0, r);
    const ends = x.shape.map((d, i) => starts[i]! + d);
    return [b.op.Slice!([dy, b.constant(starts, 'int64'), b.constant(ends, 'int64')])];
  },
};
