import { applyPolicy, padIndex } from './augment.js';
import type { Augment } from './types.js';
export type { Augment } from './types.js';
import type { DataRng } from './random.js';

// Normalisation constants per channel, on 0..1 pixel values.
export interface Stats {
  mean: number[];
  std: number[];
}

// Write one uint8 CHW image into a float32 batch slot: optional padded random crop and flip (then TrivialAugmentWide
// or RandAugment on the bytes when the recipe has one), then (x/255 - mean) / std.
export function writeNormalized(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  c: number,
  h: number,
  w: number,
  stats: Stats,
  aug?: Augment,
  rng?: DataRng,
): void {
  if ((aug?.trivial || aug?.randaugment) && rng) {
    const bytes = new Uint8Array(c * h * w);
    cropFlip(src, srcOff, bytes, 0, c, h, w, unit(c), aug, rng);
    normalizeBytes(applyPolicy(aug, { data: bytes, c, h, w }, rng).data, dst, dstOff, c, affine(stats));
    return;
  }
  cropFlip(src, srcOff, dst, dstOff, c, h, w, affine(stats), aug, rng);
}

// `byte * 1 + 0` per channel: bytes out unchanged.
export function unit(c: number): { scale: number[]; shift: number[] } {
  return { scale: new Array<number>(c).fill(1), shift: new Array<number>(c).fill(0) };
}

// Planar bytes into a float32 batch slot as `byte * scale + shift` per channel.
export function normalizeBytes(
  bytes: Uint8Array,
  dst: Float32Array,
  dstOff: number,
  c: number,
  norm: { scale: number[]; shift: number[] },
): void {
  const plane = bytes.length / c;
  for (let ch = 0; ch < c; ch++) {
    const scale = norm.scale[ch]!,
      shift = norm.shift[ch]!;
    for (let p = 0; p < plane; p++) dst[dstOff + ch * plane + p] = bytes[ch * plane + p]! * scale + shift;
  }
}

// The padded random crop and flip (torchvision's RandomCrop + RandomHorizontalFlip draws, in that order), written as
// `byte * scale + shift`.
function cropFlip(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array | Uint8Array,
  dstOff: number,
  c: number,
  h: number,
  w: number,
  norm: { scale: number[]; shift: number[] },
  aug?: Augment,
  rng?: DataRng,
): void {
  const pad = aug?.padCrop ?? 0;
  const dy = pad && rng ? rng.int(2 * pad + 1) - pad : 0;
  const dx = pad && rng ? rng.int(2 * pad + 1) - pad : 0;
  const flip = !!aug?.flip && !!rng && rng.next() < (aug.flipProb ?? 0.5);
  const mode = aug?.padMode ?? 'constant';
  // Source column of each output column (crop, then flip), -1 for the fill; likewise per row.
  const cols = Int32Array.from({ length: w }, (_, x) => padIndex((flip ? w - 1 - x : x) + dx, w, mode));
  for (let ch = 0; ch < c; ch++) {
    const scale = norm.scale[ch]!,
      shift = norm.shift[ch]!;
    const fill = (aug?.fill?.[ch] ?? 0) * scale + shift; // a padded pixel
    const sBase = srcOff + ch * h * w;
    const dBase = dstOff + ch * h * w;
    for (let y = 0; y < h; y++) {
      const sy = padIndex(y + dy, h, mode);
      for (let x = 0; x < w; x++) {
        const sx = cols[x]!;
        dst[dBase + y * w + x] = sy < 0 || sx < 0 ? fill : src[sBase + sy * w + sx]! * scale + shift;
      }
    }
  }
}

// Per-channel mean and std of uint8 CHW images on the 0..1 scale.
export function computeStats(images: Uint8Array, n: number, c: number, hw: number): Stats {
  const mean: number[] = [],
    std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0,
      s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * hw;
      for (let p = 0; p < hw; p++) {
        const v = images[base + p]! / 255;
        s += v;
        s2 += v * v;
      }
    }
    const m = s / (n * hw);
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / (n * hw) - m * m, 1e-12)));
  }
  return { mean, std };
}

// Normalisation as `byte * scale + shift` per channel, the form the resampler applies while writing.
export function affine(stats: Stats): { scale: number[]; shift: number[] } {
  return { scale: stats.std.map((s) => 1 / (255 * s)), shift: stats.mean.map((m, c) => -m / stats.std[c]!) };
}
