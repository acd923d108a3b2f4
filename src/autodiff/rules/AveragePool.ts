import { spatialAttrs } from '../../ir/shapes/conv.js';
import { Tensor } from '../../ir/tensor.js';
import type { GradRuleDef } from '../types.js';

// Number of elements each output window averages over (per output position), as PyTorch counts them.
function windowCounts(
  inp: number[],
  k: number[],
  s: number[],
  pads: number[],
  out: number[],
  includePad: boolean,
): Float32Array {
  const r = k.length;
  const total = out.reduce((p, d) => p * d, 1);
  const counts = new Float32Array(total);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat,
      c = 1;
    for (let i = r - 1; i >= 0; i--) {
      const o = rem % out[i]!;
      rem = Math.floor(rem / out[i]!);
      const lo = o * s[i]! - pads[i]!;
      const hi = lo + k[i]!;
      const [a, z] = includePad ? [lo, Math.min(hi, inp[i]! + pads[i + r]!)] : [Math.max(lo, 0), Math.min(hi, inp[i]!)];
      c *= Math.max(z - a, 1);
    }
    counts[flat] = c;
  }
  return counts;
}

// dx = ConvTranspose(dy / count, ones) per channel (the adjoint of a window sum), cropped or padded to x's size.
export const rule: GradRuleDef = {
  ops: ['AveragePool'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    const k = node.attrInts('kernel_shape');
    const a = spatialAttrs(node, x.shape, k);
    const r = k.length;
    const out = dy.shape.slice(2);
    const counts = windowCounts(
      x.shape.slice(2),
      k,
      a.strides,
      a.pads,
      out,
      node.attrInt('count_include_pad', 0) === 1,
    );
    const scaled = b.div(dy, b.constant(Tensor.float32([1, 1, ...out], counts)));
    const c = x.shape[1]!;
    const ones = b.constant(Tensor.float32([c, 1, ...k], new Float32Array(c * k.reduce((p, d) => p * d, 1)).fill(1)));
    const full = b.op.ConvTranspose!([scaled, ones], { strides: a.strides, group: c, kernel_shape: k });
    // full covers padded coordinates [-pb, ...): cut the pads off the front and fit the back to x's size.
    const need = x.shape.slice(2).map((d, i) => a.pads[i]! + d);
    const grow = need.map((d, i) => Math.max(0, d - full.shape[2 + i]!));
    const padded = grow.some((g) => g > 0)
      ? b.op.Pad!([full, b.constant([0, 0, ...Array(r).fill(0), 0, 0, ...grow], 'int64')])
      : full;
    const axes = Array.from({ length: r }, (_, i) => i + 2);
    return [
      b.op.Slice!([
        padded,
        b.constant(a.pads.slice(0, r), 'int64'),
        b.constant(need, 'int64'),
        b.constant(axes, 'int64'),
      ]),
    ];
  },
};
