import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';

// Geometry of a 2-D (or N-D) sliding window op after auto_pad is resolved.
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  out: number[];
}

// Zero-pad the spatial axes of x by the window's pads (no-op when all are 0).
export function padSpatial(b: Builder, x: Value, pads: number[]): Value {
  if (pads.every((p) => p === 0)) return x;
  const r = pads.length / 2;
  const full = [0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)];
  return b.op.Pad!([x, b.constant(full, 'int64')]);
}

// One strided tap of the window: xp[..., i*d : i*d + s*(out-1) + 1 : s] for each spatial axis, given kernel offsets.
export function windowTap(b: Builder, xp: Value, w: Window, offset: number[]): Value {
  const r = w.kernel.length;
  const identity = offset.every((o, i) => o === 0 && w.strides[i] === 1 && xp.shape[2 + i] === w.out[i]);
  if (identity) return xp;
  const starts = offset.map((o, i) => o * w.dilations[i]!);
  const ends = starts.map((s, i) => s + w.strides[i]! * (w.out[i]! - 1) + 1);
  const axes = Array.from({ length: r }, (_, i) => i + 2);
  return b.op.Slice!([
    xp,
    b.constant(starts, 'int64'),
    b.constant(ends, 'int64'),
    b.constant(axes, 'int64'),
    b.constant(w.strides, 'int64'),
  ]);
}

// All kernel offsets in row-major order.
export function kernelOffsets(kernel: number[]): number[][] {
  let out: number[][] = [[]];
  for (const k of kernel) out = out.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i]));
  return out;
}

// Patches of x for a window, laid out [C*K, N*L] from an input already transposed to [C, N, ...spatial]:
// row (c, k) holds tap k of channel c over every (n, output position). One Gemm with dy then gives dW.
export function patchesCNL(b: Builder, xt: Value, w: Window): Value {
  const [c, n] = xt.shape as [number, number];
  const l = w.out.reduce((p, d) => p * d, 1);
  const taps = kernelOffsets(w.kernel).map((o) => b.reshape(windowTap(b, xt, w, o), [c, 1, n * l]));
  const stacked = taps.length === 1 ? taps[0]! : b.op.Concat!(taps, { axis: 1 });
  return b.reshape(stacked, [c * taps.length, n * l]);
}
