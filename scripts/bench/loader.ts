// Data-loader throughput on this machine (part of `npm run bench`): 28x28 PNG folders and 224x224 random-resized
// crops of 256-pixel JPEGs of real photos. Prints one JSON line; medians of several timed passes after a warm-up.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openData } from '../../src/data/index.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { exportSplit } from '../export-fashion-mnist-png.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function pass(
  split: Awaited<ReturnType<typeof openData>>['train'],
  batchSize: number,
  epoch: number,
): Promise<number> {
  const t = performance.now();
  let n = 0;
  for await (const b of split.loader({
    batchSize,
    seed: 0,
    epoch,
    shuffle: true,
    dropLast: true,
    prefetch: 4,
    reuse: true,
  }))
    n += b.n;
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
    const rates28: number[] = [];
    for (const e of [1, 2, 3, 4, 5]) rates28.push(await pass(small.train, 128, e));

    // 1,024 JPEGs with a 256-pixel shorter side (320x256, quality 90), each a different crop of four real photos
    // (scripts/bench/photos, CC0 / public domain): varied position, scale and mirroring.
    const jpgDir = join(dir, 'jpg');
    const photosDir = new URL('./photos/', import.meta.url).pathname;
    const photos = readdirSync(photosDir)
      .filter((f) => f.endsWith('.jpg'))
      .map((f) => join(photosDir, f));
    const count = 1024;
    let jpegBytes = 0;
    for (let i = 0; i < count; i++) {
      const c = `c${i % 4}`;
      mkdirSync(join(jpgDir, c), { recursive: true });
      const src = sharp(photos[i % photos.length]!);
      const { width: pw, height: ph } = await src.metadata();
      const cw = Math.min(pw!, Math.round(pw! * (0.5 + 0.5 * (((i * 37) % 101) / 100))));
      const ch = Math.min(ph!, Math.round(cw * 0.8));
      const left = (i * 53) % (pw! - cw + 1),
        top = (i * 29) % (ph! - ch + 1);
      jpegBytes += (
        await src
          .extract({ left, top, width: cw, height: ch })
          .resize(320, 256, { fit: 'fill' })
          .flop(i % 3 === 0)
          .jpeg({ quality: 90 })
          .toFile(join(jpgDir, c, `${i}.jpg`))
      ).size;
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
