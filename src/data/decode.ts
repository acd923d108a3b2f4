import sharp from 'sharp';
import type { Rng } from './random.js';

// How to cut the image before resizing: the whole image covered and center-cropped, or an Inception-style random crop.
export type CropMode = { kind: 'center' } | { kind: 'random-resized'; rng: Rng; scale: [number, number]; ratio: [number, number] };

// Decode one image with sharp to uint8 CHW of the given size and channel count (EXIF rotation applied, alpha flattened on black).
export async function decodeImage(path: string, c: number, h: number, w: number, crop: CropMode = { kind: 'center' }): Promise<Uint8Array> {
  // One sharp instance per image: the header read for the crop region is reused by the decode (no second file read).
  let img = sharp(path, { failOn: 'error', sequentialRead: true }).rotate();
  if (crop.kind === 'random-resized') {
    const meta = await img.metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const [iw, ih] = swap ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
    const region = randomRegion(iw, ih, crop);
    img = img.extract(region);
  }
  // Bilinear, as torchvision's transforms resize (and ~1.5x faster than sharp's default lanczos3).
  img = img.resize({ width: w, height: h, fit: 'cover', position: 'centre', kernel: 'linear' }).flatten({ background: '#000000' });
  img = c === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return toCHW(data, info.channels, c, h, w);
}

// torchvision's RandomResizedCrop region: area fraction in `scale`, aspect ratio log-uniform in `ratio`, 10 tries then center.
export function randomRegion(iw: number, ih: number, m: Extract<CropMode, { kind: 'random-resized' }>): { left: number; top: number; width: number; height: number } {
  const area = iw * ih;
  for (let t = 0; t < 10; t++) {
    const a = area * (m.scale[0] + m.rng.next() * (m.scale[1] - m.scale[0]));
    const logr = Math.log(m.ratio[0]) + m.rng.next() * (Math.log(m.ratio[1]) - Math.log(m.ratio[0]));
    const r = Math.exp(logr);
    const cw = Math.round(Math.sqrt(a * r));
    const ch = Math.round(Math.sqrt(a / r));
    if (cw > 0 && ch > 0 && cw <= iw && ch <= ih) return { left: m.rng.int(iw - cw + 1), top: m.rng.int(ih - ch + 1), width: cw, height: ch };
  }
  const s = Math.min(iw, ih);
  return { left: Math.floor((iw - s) / 2), top: Math.floor((ih - s) / 2), width: s, height: s };
}

// Interleaved HWC bytes to planar CHW, converting channel counts (RGB -> gray by luma, gray -> RGB by copy).
export function toCHW(hwc: Uint8Array, have: number, want: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(want * h * w);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    const base = p * have;
    if (want === have || (want === 1 && have === 2)) {
      for (let ch = 0; ch < want; ch++) out[ch * plane + p] = hwc[base + ch]!;
    } else if (want === 1) {
      out[p] = Math.round(0.299 * hwc[base]! + 0.587 * hwc[base + 1]! + 0.114 * hwc[base + 2]!);
    } else {
      for (let ch = 0; ch < want; ch++) out[ch * plane + p] = hwc[base + Math.min(ch, have - 1)]!;
    }
  }
  return out;
}
