import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { sliceParams } from '../../ir/shapes/tensorOps.js';
import { UserError } from '../../util/errors.js';
import type { GradRuleDef } from '../types.js';

// Spread dy's elements |step| apart along one axis: [.., L, ..] -> [.., L*s, ..], zeros between (reshape/Pad/reshape,
// no scatter): insert a size-1 axis after `ax`, pad it to s, and merge the two axes.
function spread(b: Builder, g: Value, ax: number, s: number): Value {
  const sh = g.shape;
  const r = sh.length;
  const inserted = b.reshape(g, [...sh.slice(0, ax + 1), 1, ...sh.slice(ax + 1)]);
  const pads = new Array<number>(2 * (r + 1)).fill(0);
  pads[r + 1 + ax + 1] = s - 1;
  const padded = b.op.Pad!([inserted, b.constant(pads, 'int64')]);
  return b.reshape(padded, [...sh.slice(0, ax), sh[ax]! * s, ...sh.slice(ax + 1)]);
}

// y = x[start : end : step] per axis; dx = dy scattered back with zeros elsewhere, built as:
//   1. reverse dy along negative-step axes (one Slice with step -1), so every axis runs upwards from its lowest index;
//   2. spread each |step| > 1 axis (zeros between taken elements);
//   3. one Pad (plus a Slice when the last spread group overhangs x's end) to place it at the lowest taken index.
export const rule: GradRuleDef = {
  ops: ['Slice'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const p = sliceParams(node, x.shape);
    if (!p)
      throw new UserError(`${node.label}: cannot differentiate a Slice with non-constant starts, ends, axes or steps`);
    const r = x.rank;
    if (dy.shape.some((d) => d === 0)) return [b.op.ConstantOfShape!([b.constant(x.shape, 'int64')])];
    let g = dy;
    const rev = p.axes.filter((_, i) => p.steps[i]! < 0);
    if (rev.length > 0) {
      g = b.op.Slice!([
        g,
        b.constant(
          rev.map(() => -1),
          'int64',
        ),
        b.constant(
          rev.map(() => -(2 ** 62)),
          'int64',
        ),
        b.constant(rev, 'int64'),
        b.constant(
          rev.map(() => -1),
          'int64',
        ),
      ]);
    }
    const lo = new Array<number>(r).fill(0);
    const extent = [...dy.shape];
    p.axes.forEach((ax, i) => {
      const st = p.steps[i]!;
      const len = dy.shape[ax]!;
      const s = Math.abs(st);
      // Lowest index taken: start for positive steps, start - (len-1)*|step| for negative ones.
      lo[ax] = st > 0 ? p.starts[i]! : p.starts[i]! - (len - 1) * s;
      if (s > 1) {
        g = spread(b, g, ax, s);
        extent[ax] = len * s;
      }
    });
    // Groups of the last spread element may run past x's end: cut them back first.
    const over = extent.map((e, i) => Math.max(0, lo[i]! + e - x.shape[i]!));
    if (over.some((o) => o > 0)) {
      const axes = over.map((_, i) => i).filter((i) => over[i]! > 0);
      g = b.op.Slice!([
        g,
        b.constant(
          axes.map(() => 0),
          'int64',
        ),
        b.constant(
          axes.map((a) => extent[a]! - over[a]!),
          'int64',
        ),
        b.constant(axes, 'int64'),
      ]);
    }
    const pads = [...lo, ...x.shape.map((d, i) => d - lo[i]! - (extent[i]! - over[i]!))];
    return [pads.every((q) => q === 0) ? g : b.op.Pad!([g, b.constant(pads, 'int64')])];
  },
};
