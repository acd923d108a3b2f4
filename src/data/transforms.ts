import type { DataRng } from './random.js';

// Per-batch augmentation of in-memory uint8 CHW images (CIFAR recipe): random crop with zero padding, horizontal flip.
export interface Augment {
  padCrop: number; // pixels of padding for the random crop (0 = none)
  flip: boolean;
}

// Normalisation constants per channel, on 0..1 pixel values.
export interface Stats {
  mean: number[];
  std: number[];
}

// Write one uint8 CHW image into a float32 batch slot: optional padded random crop and flip, then (x/255 - mean) / std.
export function writeNormalized(
  src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number,
  c: number, h: number, w: number, stats: Stats, aug?: Augment, rng?: DataRng,
): void {
  const pad = aug?.padCrop ?? 0;
  const dy = pad && rng ? rng.int(2 * pad + 1) - pad : 0;
  const dx = pad && rng ? rng.int(2 * pad + 1) - pad : 0;
  const flip = !!aug?.flip && !!rng && rng.next() < 0.5;
  const norm = affine(stats);
  for (let ch = 0; ch < c; ch++) {
    const scale = norm.scale[ch]!, shift = norm.shift[ch]!;
    const zero = shift; // a padded (black) pixel
    const sBase = srcOff + ch * h * w;
    const dBase = dstOff + ch * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const sx = (flip ? w - 1 - x : x) + dx;
        dst[dBase + y * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? zero : src[sBase + sy * w + sx]! * scale + shift;
      }
    }
  }
}

// Per-channel mean and std of uint8 CHW images on the 0..1 scale.
export function computeStats(images: Uint8Array, n: number, c: number, hw: number): Stats {
  const mean: number[] = [], std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * hw;
      for (let p = 0; p < hw; p++) { const v = images[base + p]! / 255; s += v; s2 += v * v; }
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
