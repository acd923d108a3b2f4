// Data-loader throughput on this machine (part of `npm run bench`): 28x28 PNG folders and 224x224 crops of
// 256-pixel JPEGs decoded with sharp. Prints one JSON line; medians of several timed passes after a warm-up.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openData } from '../../src/data/index.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { exportSplit } from '../export-fashion-mnist-png.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function pass(split: Awaited<ReturnType<typeof openData>>['train'], batchSize: number, epoch: number): Promise<number> {
  const t = performance.now();
  let n = 0;
  for await (const b of split.loader({ batchSize, seed: 0, epoch, shuffle: true, dropLast: true, prefetch: 4, reuse: true })) n += b.n;
  return n / ((performance.now() - t) / 1000);
}

// Run the loader benchmark and return its numbers.
export async function benchLoader(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'od-bench-loader-'));
  try {
    const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
    const pngDir = join(dir, 'png');
    await exportSplit(idx.train as MemoryImages, idx.classes, join(pngDir, 'train'), 4000);
    const t = performance.now();
    const small = await openData(pngDir, { input: [1, 28, 28] });
    const decodeOnce = small.train.size / ((performance.now() - t) / 1000);
    await pass(small.train, 128, 0);
    const smallRates = [1, 2, 3, 4, 5].map((e) => e);
    const rates28: number[] = [];
    for (const e of smallRates) rates28.push(await pass(small.train, 128, e));

    const jpgDir = join(dir, 'jpg');
    const count = 1024;
    let jpegBytes = 0;
    for (let i = 0; i < count; i++) {
      const c = `c${i % 4}`;
      mkdirSync(join(jpgDir, c), { recursive: true });
      // Photo-like content (smooth colour fields, edges and mild sensor noise), 320x256 so the shorter side is 256:
      // uniform noise would compress like no photograph and make decode unrepresentatively slow.
      const w = 320, h = 256;
      const px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const edge = (x + y * ((i % 5) - 2)) % 97 < 48 ? 60 : 0;
        const noise = ((p * 2654435761 + i * 40503) >>> 24) & 15;
        px[3 * p] = (128 + 100 * Math.sin((x + i) / 40) + edge + noise) & 255;
        px[3 * p + 1] = (128 + 90 * Math.cos((y + 3 * i) / 55) + noise) & 255;
        px[3 * p + 2] = (90 + (x * y) / 400 + edge / 2 + noise) & 255;
      }
      jpegBytes += (await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(jpgDir, c, `${i}.jpg`))).size;
    }
    const big = await openData(jpgDir, { input: [3, 224, 224] });
    await pass(big.train, 64, 0);
    const rates224: number[] = [];
    for (const e of [1, 2, 3, 4, 5]) rates224.push(await pass(big.train, 64, e));
    return {
      png28_decode_once_img_per_s: decodeOnce,
      png28_epoch_img_per_s: median(rates28),
      jpeg256_to_224_random_resized_crop_img_per_s: median(rates224),
      jpeg256_to_224_min_img_per_s: Math.min(...rates224),
      jpeg256_to_224_max_img_per_s: Math.max(...rates224),
      jpeg_files: count,
      jpeg_bytes_mean: Math.round(jpegBytes / count),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchLoader()));
