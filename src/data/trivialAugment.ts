import type { DataRng } from './random.js';

// TrivialAugmentWide (Müller & Hutter 2021, arXiv 2103.10158) as torchvision 0.14 runs it on PIL images: one op drawn
// uniformly from 14, a magnitude from 31 bins, a random sign for the signed ops. Every op works on planar (CHW) uint8
// pixels and repeats Pillow's arithmetic (float32 blends truncated to bytes, its 16.16 fixed-point nearest-neighbour
// affine transform, its look-up tables), so `test/data/trivialAugment.test.ts` can compare with torchvision's goldens.

// A planar uint8 image: C planes of H x W.
export interface Planar {
  data: Uint8Array;
  c: number;
  h: number;
  w: number;
}

// torchvision's op list and the magnitudes of its 31 bins (linspace in float32, as torch computes them).
export const TRIVIAL_OPS = [
  'Identity',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
  'Posterize',
  'Solarize',
  'AutoContrast',
  'Equalize',
] as const;
export type TrivialOp = (typeof TRIVIAL_OPS)[number];
export const TRIVIAL_BINS = 31;
// The ops whose magnitude takes a random sign (torchvision's `signed` flag), shared with RandAugment.
export const SIGNED_OPS: ReadonlySet<TrivialOp> = new Set<TrivialOp>([
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
]);

// torch.linspace(lo, hi, n)[i] in float32 as torch 1.13's CPU kernel computes it on AVX2: 16 values at a time as two
// 8-lane aranges (base + j * step, base = start + step * idx), the rest one by one (start + step * i below the
// halfway index n / 2, end - step * (n - 1 - i) from it). This reproduces torch's tables bit for bit except 16 of
// the 279 bins of the signed ops, one float32 ulp away (test/data/trivialAugment.test.ts allows that ulp).
export function torchLinspace(lo: number, hi: number, n: number, i: number): number {
  const f = Math.fround;
  const start = f(lo),
    end = f(hi),
    step = f(f(end - start) / (n - 1)),
    half = Math.floor(n / 2);
  const scalar = (k: number) => (k < half ? f(start + f(step * k)) : f(end - f(step * (n - k - 1))));
  if (i >= n - (n % 16)) return scalar(i);
  const idx = i - (i % 8);
  return f(scalar(idx) + f((i - idx) * step));
}

// The magnitude of bin `bin` of an op (unsigned), as torchvision's _augmentation_space gives it.
export function trivialMagnitude(op: TrivialOp, bin: number): number {
  switch (op) {
    case 'ShearX':
    case 'ShearY':
    case 'Brightness':
    case 'Color':
    case 'Contrast':
    case 'Sharpness':
      return torchLinspace(0, 0.99, TRIVIAL_BINS, bin);
    case 'TranslateX':
    case 'TranslateY':
      return torchLinspace(0, 32, TRIVIAL_BINS, bin);
    case 'Rotate':
      return torchLinspace(0, 135, TRIVIAL_BINS, bin);
    case 'Posterize':
      return 8 - Math.round(Math.fround(bin / ((TRIVIAL_BINS - 1) / 6)));
    case 'Solarize':
      return torchLinspace(255, 0, TRIVIAL_BINS, bin);
    default:
      return 0;
  }
}

// One draw of TrivialAugmentWide: op, then (for ops with bins) a bin, then (signed ops) the sign.
export function drawTrivial(rng: DataRng): { op: TrivialOp; magnitude: number } {
  const op = TRIVIAL_OPS[rng.int(TRIVIAL_OPS.length)]!;
  const hasBins = !['Identity', 'AutoContrast', 'Equalize'].includes(op);
  let magnitude = hasBins ? trivialMagnitude(op, rng.int(TRIVIAL_BINS)) : 0;
  if (SIGNED_OPS.has(op) && rng.int(2)) magnitude = -magnitude;
  return { op, magnitude };
}

// TrivialAugmentWide on one image: draw, then apply.
export function trivialAugment(img: Planar, rng: DataRng): Planar {
  const { op, magnitude } = drawTrivial(rng);
  return applyTrivial(img, op, magnitude);
}

// Apply one op with a magnitude (torchvision's _apply_op on a PIL image, fill 0, nearest interpolation).
export function applyTrivial(img: Planar, op: TrivialOp, magnitude: number): Planar {
  const deg = (r: number) => r / (Math.PI / 180);
  switch (op) {
    case 'Identity':
      return img;
    case 'ShearX':
      return affine(img, inverseAffine([0, 0], 0, [0, 0], [deg(Math.atan(magnitude)), 0]));
    case 'ShearY':
      return affine(img, inverseAffine([0, 0], 0, [0, 0], [0, deg(Math.atan(magnitude))]));
    case 'TranslateX':
      return affine(img, inverseAffine([img.w * 0.5, img.h * 0.5], 0, [Math.trunc(magnitude), 0], [0, 0]));
    case 'TranslateY':
      return affine(img, inverseAffine([img.w * 0.5, img.h * 0.5], 0, [0, Math.trunc(magnitude)], [0, 0]));
    case 'Rotate':
      return rotate(img, magnitude);
    case 'Brightness':
      return blend(img, new Uint8Array(img.data.length), 1 + magnitude);
    case 'Color':
      return blend(img, grayAsMode(img), 1 + magnitude);
    case 'Contrast':
      return blend(img, new Uint8Array(img.data.length).fill(meanLuma(img)), 1 + magnitude);
    case 'Sharpness':
      return blend(img, smooth(img), 1 + magnitude);
    case 'Posterize': {
      const mask = ~((1 << (8 - Math.trunc(magnitude))) - 1) & 255;
      return lut(img, () => Array.from({ length: 256 }, (_, i) => i & mask));
    }
    case 'Solarize':
      return lut(img, () => Array.from({ length: 256 }, (_, i) => (i < magnitude ? i : 255 - i)));
    case 'AutoContrast':
      return lut(img, autocontrastLut);
    case 'Equalize':
      return lut(img, equalizeLut);
  }
}

// torchvision's _get_inverse_affine_matrix (output pixel -> input pixel), angles in degrees as it takes them.
function inverseAffine(
  center: [number, number],
  angle: number,
  translate: [number, number],
  shear: [number, number],
): number[] {
  const rad = (d: number) => d * (Math.PI / 180);
  const rot = rad(angle),
    sx = rad(shear[0]),
    sy = rad(shear[1]);
  const [cx, cy] = center,
    [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0];
  m[2]! += m[0]! * (-cx - tx) + m[1]! * (-cy - ty);
  m[5]! += m[3]! * (-cx - tx) + m[4]! * (-cy - ty);
  m[2]! += cx;
  m[5]! += cy;
  return m;
}

// Pillow's nearest-neighbour affine transform (ImagingTransformAffine): a pure scale/translation samples pixel
// centres in doubles (ImagingScaleAffine); otherwise, while every corner maps within ±32768, it steps in 16.16
// fixed point (affine_fixed), else in doubles. Coordinates advance by adding the matrix's columns, as its loops do;
// outside the image the fill (0).
function affine(img: Planar, a: number[]): Planar {
  const { h, w } = img;
  const coord = (v: number) => (v < 0 ? -1 : Math.trunc(v));
  if (a[1] === 0 && a[3] === 0) {
    let xo = a[2]! + a[0]! * 0.5,
      yo = a[5]! + a[4]! * 0.5;
    const xs = new Int32Array(w),
      ys = new Int32Array(h);
    for (let x = 0; x < w; x++) {
      xs[x] = coord(xo);
      xo += a[0]!;
    }
    for (let y = 0; y < h; y++) {
      ys[y] = coord(yo);
      yo += a[4]!;
    }
    return sample(img, (x, y) => [xs[x]!, ys[y]!]);
  }
  const fits = (x: number, y: number) =>
    Math.abs(x * a[0]! + y * a[1]! + a[2]!) < 32768 && Math.abs(x * a[3]! + y * a[4]! + a[5]!) < 32768;
  if (fits(0, 0) && fits(w, h) && fits(0, h) && fits(w, 0)) {
    const fix = (v: number) => Math.floor(v * 65536 + 0.5);
    const [a0, a1, a3, a4] = [fix(a[0]!), fix(a[1]!), fix(a[3]!), fix(a[4]!)];
    const a2 = fix(a[2]! + a[0]! * 0.5 + a[1]! * 0.5),
      a5 = fix(a[5]! + a[3]! * 0.5 + a[4]! * 0.5);
    return sample(img, (x, y) => [(a2 + y * a1 + x * a0) >> 16, (a5 + y * a4 + x * a3) >> 16]);
  }
  const xo = a[2]! + a[1]! * 0.5 + a[0]! * 0.5,
    yo = a[5]! + a[4]! * 0.5 + a[3]! * 0.5;
  const at = (o: number, row: number, col: number, y: number, x: number) => {
    let v = o;
    for (let i = 0; i < y; i++) v += row;
    for (let i = 0; i < x; i++) v += col;
    return coord(v);
  };
  return sample(img, (x, y) => [at(xo, a[1]!, a[0]!, y, x), at(yo, a[4]!, a[3]!, y, x)]);
}

// Each output pixel from the input pixel `from(x, y)` gives, or the fill (0) outside the image.
function sample(img: Planar, from: (x: number, y: number) => [number, number]): Planar {
  const { c, h, w, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [xin, yin] = from(x, y);
      if (xin >= 0 && xin < w && yin >= 0 && yin < h)
        for (let ch = 0; ch < c; ch++) out[ch * h * w + y * w + x] = data[ch * h * w + yin * w + xin]!;
    }
  }
  return { ...img, data: out };
}

// Python's round(x, 15) for the magnitudes Pillow's rotate meets (|x| ≤ 1).
const round15 = (x: number) => Number(x.toFixed(15));

// Pillow's Image.rotate(angle) (counter-clockwise, about the centre, same size): exact transposes for 0 / 90 / 180 /
// 270 where it takes them, else its affine matrix with entries rounded to 15 decimals.
function rotate(img: Planar, angle: number): Planar {
  const { w, h } = img;
  const turn = ((angle % 360) + 360) % 360;
  if (turn === 0) return img;
  if (turn === 180 || ((turn === 90 || turn === 270) && w === h)) {
    const out = new Uint8Array(img.data.length);
    for (let ch = 0; ch < img.c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [sx, sy] = turn === 180 ? [w - 1 - x, h - 1 - y] : turn === 90 ? [w - 1 - y, x] : [y, h - 1 - x];
          out[ch * h * w + y * w + x] = img.data[ch * h * w + sy * w + sx]!;
        }
      }
    }
    return { ...img, data: out };
  }
  const r = -(turn * (Math.PI / 180));
  const m = [round15(Math.cos(r)), round15(Math.sin(r)), 0, round15(-Math.sin(r)), round15(Math.cos(r)), 0];
  const [cx, cy] = [w / 2, h / 2];
  m[2] = m[0]! * -cx + m[1]! * -cy + m[2]!;
  m[5] = m[3]! * -cx + m[4]! * -cy + m[5]!;
  m[2] += cx;
  m[5] += cy;
  return affine(img, m);
}

// Pillow's ImagingBlend: in1 + alpha * (in2 - in1) in float32, truncated to a byte (clipped when extrapolating).
function blend(img: Planar, degenerate: Uint8Array, factor: number): Planar {
  const alpha = Math.fround(factor);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const a = degenerate[i]!,
      b = img.data[i]!;
    const v = Math.fround(a + Math.fround(alpha * (b - a)));
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return { ...img, data: out };
}

// Pillow's RGB -> L: (R 19595 + G 38470 + B 7471 + 0x8000) >> 16; a gray image is its own.
function luma(img: Planar): Uint8Array {
  if (img.c === 1) return img.data;
  const n = img.h * img.w,
    d = img.data;
  return Uint8Array.from(
    { length: n },
    (_, p) => (d[p]! * 19595 + d[n + p]! * 38470 + d[2 * n + p]! * 7471 + 0x8000) >>> 16,
  );
}

// ImageEnhance.Color's degenerate: the image converted to L and back.
function grayAsMode(img: Planar): Uint8Array {
  const l = luma(img);
  const out = new Uint8Array(img.data.length);
  for (let ch = 0; ch < img.c; ch++) out.set(l, ch * l.length);
  return out;
}

// ImageEnhance.Contrast's degenerate level: int(mean of the L image + 0.5).
function meanLuma(img: Planar): number {
  const l = luma(img);
  let s = 0;
  for (const v of l) s += v;
  return Math.trunc(s / l.length + 0.5);
}

// ImageFilter.SMOOTH (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, /13) as Pillow's ImagingFilter3x3: float32 sums row by row,
// rounded to a byte; the border rows and columns are copied.
function smooth(img: Planar): Uint8Array {
  const { c, h, w, data } = img;
  const out = Uint8Array.from(data);
  const k = [1, 1, 1, 1, 5, 1, 1, 1, 1].map((v) => Math.fround(v / 13));
  const row = (base: number, x: number, k0: number, k1: number, k2: number) =>
    Math.fround(
      Math.fround(Math.fround(data[base + x - 1]! * k0) + Math.fround(data[base + x]! * k1)) +
        Math.fround(data[base + x + 1]! * k2),
    );
  for (let ch = 0; ch < c; ch++) {
    for (let y = 1; y < h - 1; y++) {
      const above = ch * h * w + (y - 1) * w,
        here = above + w,
        below = here + w;
      for (let x = 1; x < w - 1; x++) {
        let ss = Math.fround(0.5);
        ss = Math.fround(ss + row(below, x, k[0]!, k[1]!, k[2]!));
        ss = Math.fround(ss + row(here, x, k[3]!, k[4]!, k[5]!));
        ss = Math.fround(ss + row(above, x, k[6]!, k[7]!, k[8]!));
        out[here + x] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss);
      }
    }
  }
  return out;
}

// A per-channel look-up table built from that channel's histogram (Pillow's ImageOps point ops).
function lut(img: Planar, make: (hist: number[]) => number[]): Planar {
  const plane = img.h * img.w;
  const out = new Uint8Array(img.data.length);
  for (let ch = 0; ch < img.c; ch++) {
    const hist = new Array<number>(256).fill(0);
    for (let p = 0; p < plane; p++) hist[img.data[ch * plane + p]!]!++;
    // Table entries clipped to bytes, as Image.point does (equalize's can exceed 255 when one level dominates).
    const table = make(hist).map((v) => Math.min(255, Math.max(0, v)));
    for (let p = 0; p < plane; p++) out[ch * plane + p] = table[img.data[ch * plane + p]!]!;
  }
  return { ...img, data: out };
}

// ImageOps.autocontrast (cutoff 0): stretch [lo, hi] of the channel to [0, 255], int() of the double.
function autocontrastLut(h: number[]): number[] {
  const lo = h.findIndex((v) => v > 0);
  let hi = 255;
  while (hi >= 0 && !h[hi]) hi--;
  if (hi <= lo) return Array.from({ length: 256 }, (_, i) => i);
  const scale = 255 / (hi - lo),
    offset = -lo * scale;
  return Array.from({ length: 256 }, (_, i) => Math.min(255, Math.max(0, Math.trunc(i * scale + offset))));
}

// ImageOps.equalize: the cumulative histogram in steps of (total - last non-zero bin) // 255.
function equalizeLut(h: number[]): number[] {
  const nonzero = h.filter((v) => v > 0);
  const identity = Array.from({ length: 256 }, (_, i) => i);
  if (nonzero.length <= 1) return identity;
  const step = Math.floor((nonzero.reduce((a, b) => a + b, 0) - nonzero[nonzero.length - 1]!) / 255);
  if (!step) return identity;
  let n = Math.floor(step / 2);
  return h.map((v) => {
    const o = Math.floor(n / step);
    n += v;
    return o;
  });
}
