import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { constInts } from '../../ir/shapes/util.js';
import { UserError } from '../../util/errors.js';
import type { GradRuleDef } from '../types.js';

// Static Slice of g along one axis; step -1 reverses [lo, hi) (taken from hi-1 down to lo).
function cut(b: Builder, g: Value, ax: number, lo: number, hi: number, reverse = false): Value {
  const a = b.constant([ax], 'int64');
  if (!reverse) return b.op.Slice!([g, b.constant([lo], 'int64'), b.constant([hi], 'int64'), a]);
  return b.op.Slice!([
    g,
    b.constant([hi - 1], 'int64'),
    b.constant([lo - 1 < 0 ? -(2 ** 62) : lo - 1], 'int64'),
    a,
    b.constant([-1], 'int64'),
  ]);
}

// Zero-pad g along one axis by (before, after).
function pad1(b: Builder, g: Value, ax: number, before: number, after: number): Value {
  if (before === 0 && after === 0) return g;
  const pads = new Array<number>(2 * g.rank).fill(0);
  pads[ax] = before;
  pads[ax + g.rank] = after;
  return b.op.Pad!([g, b.constant(pads, 'int64')]);
}

// Adjoint of reflect/edge padding along one axis of size n with pads (pb, pe) >= 0: the interior of g plus each
// border strip folded back onto the input positions it copied.
function foldAxis(b: Builder, g: Value, ax: number, n: number, pb: number, pe: number, mode: string): Value {
  if (pb === 0 && pe === 0) return g;
  let acc = cut(b, g, ax, pb, pb + n);
  const add = (v: Value) => {
    acc = b.add(acc, v);
  };
  if (mode === 'reflect') {
    // y[pb - 1 - k] = x[k + 1] and y[pb + n + k] = x[n - 2 - k]: reversed strips land on x[1 .. pb] and x[n-1-pe .. n-2].
    if (pb > 0) add(pad1(b, cut(b, g, ax, 0, pb, true), ax, 1, n - 1 - pb));
    if (pe > 0) add(pad1(b, cut(b, g, ax, pb + n, pb + n + pe, true), ax, n - 1 - pe, 1));
  } else {
    // Every border element copies x[0] or x[n-1].
    if (pb > 0) add(pad1(b, b.reduceSum(cut(b, g, ax, 0, pb), [ax], true), ax, 0, n - 1));
    if (pe > 0) add(pad1(b, b.reduceSum(cut(b, g, ax, pb + n, pb + n + pe), [ax], true), ax, n - 1, 0));
  }
  return acc;
}

// y = pad(x, pads, mode).  constant mode: dx = the interior of dy (a Slice; negative pads re-pad with zeros) and
// d(constant_value) = sum(dy) - sum(interior).  reflect/edge: dx = interior + border strips folded back (see foldAxis).
export const rule: GradRuleDef = {
  ops: ['Pad'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const x = node.input(0);
    const mode = node.attrString('mode', 'constant');
    const r = x.rank;
    const raw = node.inputs[1] ? constInts(node, 1) : node.attrInts('pads');
    if (!raw) throw new UserError(`${node.label}: cannot differentiate a Pad with non-constant pads`);
    const axesRaw = node.inputs[3] ? constInts(node, 3) : Array.from({ length: r }, (_, i) => i);
    if (!axesRaw) throw new UserError(`${node.label}: cannot differentiate a Pad with non-constant axes`);
    const axes = axesRaw.map((a) => (a < 0 ? a + r : a));
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((ax, i) => {
      pads[ax] = raw[i]!;
      pads[ax + r] = raw[i + axes.length]!;
    });
    const grads: (Value | undefined)[] = [];
    if (mode === 'constant') {
      const crop = pads.map((p) => Math.max(p, 0));
      const starts = crop.slice(0, r);
      const inner = b.op.Slice!([
        dy,
        b.constant(starts, 'int64'),
        b.constant(
          dy.shape.map((d, i) => d - crop[i + r]!),
          'int64',
        ),
      ]);
      if (needs[0])
        grads[0] = pads.some((p) => p < 0)
          ? b.op.Pad!([
              inner,
              b.constant(
                pads.map((p) => Math.max(-p, 0)),
                'int64',
              ),
            ])
          : inner;
      const cv = node.inputs[2];
      if (needs[2] && cv) {
        const all = dy.shape.map((_, i) => i);
        const diff = b.sub(b.reduceSum(dy, all, false), b.reduceSum(inner, all, false));
        grads[2] = cv.rank === 0 ? diff : b.reshape(diff, [...cv.shape]);
      }
      return grads;
    }
    if (!['reflect', 'edge'].includes(mode))
      throw new UserError(`${node.label}: gradient of Pad in '${mode}' mode is not supported`);
    if (pads.some((p) => p < 0))
      throw new UserError(`${node.label}: gradient of Pad in '${mode}' mode with negative pads is not supported`);
    if (!needs[0]) return [];
    let g = dy;
    for (let ax = 0; ax < r; ax++) g = foldAxis(b, g, ax, x.shape[ax]!, pads[ax]!, pads[ax + r]!, mode);
    return [g];
  },
};
