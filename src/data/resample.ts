// Separable antialiased bilinear resampling of decoded HWC bytes straight into a planar (CHW) output, with the crop
// box, horizontal flip, channel conversion and normalisation folded into the same two passes. This is Pillow's
// ImagingResample (what torchvision's Resize and RandomResizedCrop use, antialias on) in float, so one decode is
// followed by one cheap pass instead of a libvips resize pipeline per image.

// A box in input pixel coordinates (may be fractional): the part of the image the output shows. `cut` means the box
// is cropped out first and then resized (torchvision's resized_crop: filter taps stop at its edges); otherwise the
// whole image is resized and the box cut from the result (Resize + CenterCrop: taps may read pixels beyond the box).
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
  cut?: boolean;
}

// Decoded interleaved pixels as sharp's raw output gives them: 1 (gray) or 3 (RGB) channels, 8 bits.
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

// Where and how to write: per output channel `value * scale + shift` (value on the 0..255 scale).
export interface PlanarTarget {
  channels: number;
  height: number;
  width: number;
  scale: ArrayLike<number>;
  shift: ArrayLike<number>;
  flip: boolean;
}

// Taps of one axis: output i reads `count[i]` inputs from `start[i]` with weights at `weights[i * span ...]`.
export interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  span: number;
}

// Pillow's precompute_coeffs for the bilinear (triangle) filter: support widens with the downscale factor (antialias).
export function bilinearTaps(inSize: number, from: number, length: number, outSize: number): Taps {
  const scale = length / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const span = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize),
    count = new Int32Array(outSize),
    weights = new Float32Array(outSize * span);
  for (let i = 0; i < outSize; i++) {
    const center = from + (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const d = Math.abs((x - center + 0.5) / filterScale);
      const wgt = d < 1 ? 1 - d : 0;
      weights[i * span + x - lo] = wgt;
      total += wgt;
    }
    // Drop zero-weight taps at the ends (an upscale then always reads 2 inputs, not 3).
    let a = 0,
      b = hi - lo;
    while (b > a + 1 && weights[i * span + b - 1] === 0) b--;
    while (b > a + 1 && weights[i * span + a] === 0) a++;
    for (let k = a; k < b; k++) weights[i * span + k - a] = weights[i * span + k]! / (total || 1);
    start[i] = lo + a;
    count[i] = Math.max(b - a, 0);
  }
  return { start, count, weights, span };
}

// Taps computed inside a cut-out box, moved to the box's place in the image.
function shifted(t: Taps, by: number): Taps {
  for (let i = 0; i < t.start.length; i++) t.start[i]! += by;
  return t;
}

// ITU-R 601 luma on gamma-encoded values, as PIL's convert('L') and torchvision's Grayscale.
const LUMA_R = 0.299,
  LUMA_G = 0.587,
  LUMA_B = 0.114;

// Scratch rows reused across calls (the loader resamples thousands of images per epoch on one thread).
let scratch = new Float32Array(0);
function rows(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch;
}

// Horizontal pass over input rows y0..y1 into planar rows: tmp[((y - y0) * mc + c) * ow + x]; `mc` channels out
// (1: gray or luma, 3: RGB); output columns mirrored on flip.
function horizontal(
  src: RawImage,
  tx: Taps,
  ow: number,
  y0: number,
  y1: number,
  mc: number,
  flip: boolean,
  tmp: Float32Array,
): void {
  const data = src.data,
    ic = src.channels,
    stride = src.width * ic;
  const counts = tx.count,
    wts = tx.weights,
    span = tx.span;
  // Per output column: first input byte, first weight, and where it lands (mirrored on flip).
  const from = new Int32Array(ow),
    to = new Int32Array(ow);
  for (let x = 0; x < ow; x++) {
    from[x] = tx.start[x]! * ic;
    to[x] = flip ? ow - 1 - x : x;
  }
  for (let y = y0; y < y1; y++) {
    const rowIn = y * stride;
    const r0 = (y - y0) * mc * ow;
    if (ic === 1) {
      for (let x = 0; x < ow; x++) {
        const p = rowIn + from[x]!,
          n = counts[x]!,
          wb = x * span;
        let a = 0;
        for (let k = 0; k < n; k++) a += data[p + k]! * wts[wb + k]!;
        tmp[r0 + to[x]!] = a;
      }
      continue;
    }
    for (let x = 0; x < ow; x++) {
      let p = rowIn + from[x]!;
      const n = counts[x]!,
        wb = x * span;
      let r, g, b;
      if (n === 2) {
        const w0 = wts[wb]!,
          w1 = wts[wb + 1]!;
        r = data[p]! * w0 + data[p + 3]! * w1;
        g = data[p + 1]! * w0 + data[p + 4]! * w1;
        b = data[p + 2]! * w0 + data[p + 5]! * w1;
      } else {
        r = 0;
        g = 0;
        b = 0;
        for (let k = 0; k < n; k++, p += 3) {
          const wk = wts[wb + k]!;
          r += data[p]! * wk;
          g += data[p + 1]! * wk;
          b += data[p + 2]! * wk;
        }
      }
      const o = r0 + to[x]!;
      if (mc === 3) {
        tmp[o] = r;
        tmp[o + ow] = g;
        tmp[o + 2 * ow] = b;
      } else tmp[o] = LUMA_R * r + LUMA_G * g + LUMA_B * b;
    }
  }
}

// Vertical pass of one output row and channel: taps over planar rows, then `* scale + shift`, into dst[base..base+ow).
function vertical(
  tmp: Float32Array,
  first: number,
  n: number,
  rowStride: number,
  wts: Float32Array,
  wb: number,
  ow: number,
  sc: number,
  sh: number,
  dst: Float32Array | Uint8Array,
  base: number,
  round: boolean,
): void {
  if (n === 2) {
    const w0 = wts[wb]!,
      w1 = wts[wb + 1]!,
      a = first,
      b = first + rowStride;
    if (round)
      for (let x = 0; x < ow; x++)
        dst[base + x] = Math.min(255, Math.max(0, Math.round((tmp[a + x]! * w0 + tmp[b + x]! * w1) * sc + sh)));
    else for (let x = 0; x < ow; x++) dst[base + x] = (tmp[a + x]! * w0 + tmp[b + x]! * w1) * sc + sh;
    return;
  }
  for (let x = 0; x < ow; x++) {
    let v = 0;
    for (let k = 0, q = first + x; k < n; k++, q += rowStride) v += tmp[q]! * wts[wb + k]!;
    dst[base + x] = round ? Math.min(255, Math.max(0, Math.round(v * sc + sh))) : v * sc + sh;
  }
}

// Resample `box` of `src` to the target size and write it, normalised, into `dst` at `offset` (C planes of H x W).
// A uint8 destination gets rounded, clamped bytes (the decode-once cache); a float one gets `value * scale + shift`.
export function resampleInto(
  src: RawImage,
  box: Box,
  target: PlanarTarget,
  dst: Float32Array | Uint8Array,
  offset: number,
): void {
  const { width: ow, height: oh, channels: oc } = target;
  const ic = src.channels;
  if (ic !== 1 && ic !== 3) throw new Error(`resample: ${ic}-channel input (expected 1 or 3)`);
  const tx = box.cut
    ? shifted(bilinearTaps(box.width, 0, box.width, ow), box.left)
    : bilinearTaps(src.width, box.left, box.width, ow);
  const ty = box.cut
    ? shifted(bilinearTaps(box.height, 0, box.height, oh), box.top)
    : bilinearTaps(src.height, box.top, box.height, oh);
  // Rows of the input the vertical taps touch; only those get the horizontal pass.
  const y0 = ty.start[0]!;
  const y1 = ty.start[oh - 1]! + ty.count[oh - 1]!;
  // Channels carried through the passes: gray in -> 1; RGB in and gray out -> luma first (linear, so it commutes).
  const mc = ic === 3 && oc === 1 ? 1 : ic;
  const rowStride = mc * ow;
  const tmp = rows((y1 - y0) * rowStride);
  horizontal(src, tx, ow, y0, y1, mc, target.flip, tmp);
  const plane = oh * ow;
  const round = dst instanceof Uint8Array;
  for (let y = 0; y < oh; y++) {
    const first = (ty.start[y]! - y0) * rowStride;
    for (let c = 0; c < oc; c++) {
      const from = Math.min(c, mc - 1);
      vertical(
        tmp,
        first + from * ow,
        ty.count[y]!,
        rowStride,
        ty.weights,
        y * ty.span,
        ow,
        target.scale[c]!,
        target.shift[c]!,
        dst,
        offset + c * plane + y * ow,
        round,
      );
    }
  }
}
