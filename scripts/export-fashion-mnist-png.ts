// Write Fashion-MNIST (or any IDX folder) out as an image folder out/{train,val}/<class>/<index>.png with sharp,
// so the image-folder path is exercised on real images.
// usage: node --import tsx scripts/export-fashion-mnist-png.ts --out DIR [--src fashion-mnist|DIR] [--limit N]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openIdx } from '../src/data/sources/idx.js';
import { NAMED } from '../src/data/sources/named.js';
import type { MemoryImages } from '../src/data/types.js';

// Export one in-memory split as PNGs, at most `limit` per split, class folders named safely.
export async function exportSplit(
  split: MemoryImages,
  classes: string[],
  dir: string,
  limit = Infinity,
): Promise<number> {
  const [c, h, w] = split.shape;
  const n = Math.min(split.labels.length, limit);
  const safe = classes.map((name) => name.replace(/[^A-Za-z0-9_-]+/g, '_'));
  for (const name of safe) mkdirSync(join(dir, name), { recursive: true });
  for (let i = 0; i < n; i++) {
    const pixels = split.images.subarray(i * c * h * w, (i + 1) * c * h * w);
    await sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: c as 1 } })
      .png()
      .toFile(join(dir, safe[split.labels[i]!]!, `${String(i).padStart(5, '0')}.png`));
  }
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (k: string, d?: string) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? process.argv[i + 1]! : d;
  };
  const out = arg('out');
  if (!out) throw new Error('--out DIR is required');
  const src = arg('src', 'fashion-mnist')!;
  const named = NAMED[src];
  const ds = openIdx(named ? named.dir : src, named?.classes);
  const limit = Number(arg('limit', 'Infinity'));
  const t = await exportSplit(ds.train as MemoryImages, ds.classes, join(out, 'train'), limit);
  const v = ds.val ? await exportSplit(ds.val as MemoryImages, ds.classes, join(out, 'val'), limit) : 0;
  console.log(`wrote ${t} training and ${v} validation PNGs under ${out}`);
}
