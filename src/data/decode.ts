import { readFile, stat } from 'node:fs';
import sharp from 'sharp';
import { resizeCenterBox, roundHalfEven } from './augment.js';
import type { DataRng } from './random.js';
import { resampleInto, type Box, type RawImage } from './resample.js';

// How to cut the image before resizing: a centred crop covering `fraction` of the resized shorter side
// (1 = the whole shorter side; 0.875 = resize to 256, crop 224), or an Inception-style random crop.
export type CropMode =
  | { kind: 'center'; fraction: number; resize?: number }
  | { kind: 'random-resized'; rng: DataRng; scale: [number, number]; ratio: [number, number] };

// The whole shorter side, centred: what evaluation of small images and the decode-once cache use.
export const COVER: CropMode = { kind: 'center', fraction: 1 };

// libvips' operation cache keeps recent decodes for reuse; a loader never decodes the same crop twice, so it only
// costs memory and hashing (measured: ~10% of decode throughput).
sharp.cache(false);

// Largest canvas a file may declare (8192 x 8192): a decompression bomb (a small file that claims a huge canvas) is
// refused from its header, before libvips allocates anything, and counted like any other unreadable file.
export const MAX_IMAGE_PIXELS = 8192 * 8192;

// fs.readFile with a callback: the promise API's chunked reads cost ~25% of loader throughput on 25 KB JPEGs.
// Only regular files are read: a FIFO or device named like an image would block the loader forever.
function readBytes(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    stat(path, (err, st) => {
      if (err) reject(err);
      else if (!st.isFile()) reject(new Error('not a regular file'));
      else readFile(path, (e, data) => (e ? reject(e) : resolve(data)));
    }),
  );
}

// Decode one file with sharp to 8-bit interleaved gray or RGB: EXIF rotation applied, alpha flattened on black,
// CMYK / 16-bit / palette converted. One libvips call; cropping and resizing happen afterwards in one JS pass.
export async function decodeRaw(path: string): Promise<RawImage> {
  const bytes = await readBytes(path);
  const decode = async (srgb: boolean) => {
    const img = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .flatten({ background: '#000000' });
    try {
      return await (srgb ? img.toColourspace('srgb') : img)
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
    } catch (err: unknown) {
      if (err instanceof Error && /pixel limit/i.test(err.message)) {
        throw new Error(
          `declares a canvas over the ${MAX_IMAGE_PIXELS.toLocaleString('en-US')}-pixel limit (8192 x 8192); refused as a possible decompression bomb`,
        );
      }
      throw err;
    }
  };
  let { data, info } = await decode(false);
  // Unusual layouts (CMYK kept as 4 bands, 2-band gray without alpha): ask libvips for sRGB explicitly.
  if (info.channels !== 1 && info.channels !== 3) ({ data, info } = await decode(true));
  return { data, width: info.width, height: info.height, channels: info.channels };
}

// The input region an output of w x h shows under a crop mode (in the decoded, rotated image's pixels).
export function cropBox(iw: number, ih: number, w: number, h: number, crop: CropMode): Box {
  if (crop.kind === 'random-resized') return randomRegion(iw, ih, crop);
  // --eval-resize: torchvision's Resize(N) + CenterCrop, integer sizes and offsets as it computes them.
  if (crop.resize) return resizeCenterBox(iw, ih, crop.resize, w, h);
  // Resize so the output covers the image (shorter side fits), enlarge by 1/fraction, keep the centre.
  const s = Math.max(w / iw, h / ih) / crop.fraction;
  const bw = Math.min(w / s, iw),
    bh = Math.min(h / s, ih);
  return { left: (iw - bw) / 2, top: (ih - bh) / 2, width: bw, height: bh };
}

// Decode one image to uint8 CHW of the given size and channel count (the decode-once cache of small images).
export async function decodeImage(
  path: string,
  c: number,
  h: number,
  w: number,
  crop: CropMode = COVER,
): Promise<Uint8Array> {
  const raw = await decodeRaw(path);
  const out = new Uint8Array(c * h * w);
  const ones = new Array<number>(c).fill(1),
    zeros = new Array<number>(c).fill(0);
  resampleInto(
    raw,
    cropBox(raw.width, raw.height, w, h, crop),
    { channels: c, height: h, width: w, scale: ones, shift: zeros, flip: false },
    out,
    0,
  );
  return out;
}

// torchvision's RandomResizedCrop region: area fraction in `scale`, aspect ratio log-uniform in `ratio`, 10 tries, then the centre.
export function randomRegion(iw: number, ih: number, m: Extract<CropMode, { kind: 'random-resized' }>): Box {
  const area = iw * ih;
  for (let t = 0; t < 10; t++) {
    const a = area * (m.scale[0] + m.rng.next() * (m.scale[1] - m.scale[0]));
    const logr = Math.log(m.ratio[0]) + m.rng.next() * (Math.log(m.ratio[1]) - Math.log(m.ratio[0]));
    const r = Math.exp(logr);
    const cw = roundHalfEven(Math.sqrt(a * r));
    const ch = roundHalfEven(Math.sqrt(a / r));
    if (cw > 0 && ch > 0 && cw <= iw && ch <= ih)
      return { left: m.rng.int(iw - cw + 1), top: m.rng.int(ih - ch + 1), width: cw, height: ch, cut: true };
  }
  // Fallback as torchvision: the whole image, trimmed to the nearest allowed aspect ratio, centred.
  const inRatio = iw / ih;
  const [cw, ch] =
    inRatio < m.ratio[0]
      ? [iw, roundHalfEven(iw / m.ratio[0])]
      : inRatio > m.ratio[1]
        ? [roundHalfEven(ih * m.ratio[1]), ih]
        : [iw, ih];
  return { left: Math.floor((iw - cw) / 2), top: Math.floor((ih - ch) / 2), width: cw, height: ch, cut: true };
}
