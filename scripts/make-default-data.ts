// Writes the embedded default dataset (models/fashion-mnist-subset/): a class-balanced, seeded subset of
// Fashion-MNIST (MIT licence, Zalando Research) in IDX format, so the README's main job runs with no download.
// usage: node --import tsx scripts/make-default-data.ts [--src /usr/share/datasets/fashion-mnist] [--train 12000] [--test 2000]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const src = arg('src', '/usr/share/datasets/fashion-mnist');
const out = new URL('../models/fashion-mnist-subset/', import.meta.url).pathname;

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(join(src, file)));
  const rank = buf[3]!;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: buf.subarray(4 + 4 * rank) };
}

function writeIdx(file: string, dims: number[], data: Uint8Array): void {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(join(out, file), gzipSync(Buffer.concat([head, data]), { level: 9 }));
}

// Take the first `perClass` images of each class in file order (deterministic, balanced).
function subset(prefix: string, total: number): void {
  const img = readIdx(`${prefix}-images-idx3-ubyte.gz`);
  const lab = readIdx(`${prefix}-labels-idx1-ubyte.gz`);
  const per = total / 10;
  const counts = new Array<number>(10).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < lab.dims[0]! && keep.length < total; i++) {
    const c = lab.data[i]!;
    if (counts[c]! < per) {
      counts[c]!++;
      keep.push(i);
    }
  }
  const size = img.dims[1]! * img.dims[2]!;
  const images = new Uint8Array(keep.length * size);
  keep.forEach((k, j) => images.set(img.data.subarray(k * size, (k + 1) * size), j * size));
  writeIdx(`${prefix}-images-idx3-ubyte.gz`, [keep.length, img.dims[1]!, img.dims[2]!], images);
  writeIdx(
    `${prefix}-labels-idx1-ubyte.gz`,
    [keep.length],
    Uint8Array.from(keep, (k) => lab.data[k]!),
  );
}

mkdirSync(out, { recursive: true });
subset('train', Number(arg('train', '12000')));
subset('t10k', Number(arg('test', '2000')));
console.log(`wrote ${out}`);
