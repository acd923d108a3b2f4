// The streaming (file-backed) loader: every format sharp reads, seeded random-resized crops that do not depend on
// decode order, reused batch buffers, and starting mid-epoch.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decodeRaw } from '../../src/data/decode.js';
import { openData, type Batch, type LoaderOptions } from '../../src/data/index.js';

const root = mkdtempSync(join(tmpdir(), 'od-loader-'));
after(() => rmSync(root, { recursive: true, force: true }));
const photos = join(root, 'photos');

// A smooth, asymmetric 48x40 RGB picture per index, so crops, flips and resizes all change the pixels.
function picture(i: number): Buffer {
  const w = 48,
    h = 40;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = 3 * (y * w + x);
      px[p] = (x * 5 + i * 11) & 255;
      px[p + 1] = (y * 6 + i * 3) & 255;
      px[p + 2] = ((x * y) / 8 + i) & 255;
    }
  return px;
}

before(async () => {
  for (let i = 0; i < 24; i++) {
    const dir = join(photos, `c${i % 3}`);
    mkdirSync(dir, { recursive: true });
    await sharp(picture(i), { raw: { width: 48, height: 40, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(dir, `${i}.jpg`));
  }
});

async function collect(
  split: Awaited<ReturnType<typeof openData>>['train'],
  o: Partial<LoaderOptions> = {},
): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of split.loader({
    batchSize: 5,
    seed: 3,
    epoch: 0,
    shuffle: true,
    dropLast: true,
    prefetch: 2,
    ...o,
  })) {
    // Copy before asking for the next batch: with `reuse` the arrays are recycled.
    out.push({ ...b, x: b.x.slice(), y: b.y.slice() });
  }
  return out;
}

test('every format sharp reads decodes to 8-bit gray or RGB: png (8/16-bit, palette), jpeg (RGB, CMYK), webp, avif, tiff, gif', async () => {
  const rgb = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);
  const img = () => sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } });
  const exact: [string, Promise<Buffer>][] = [
    ['png', img().png().toBuffer()],
    ['png16', img().toColourspace('rgb16').png().toBuffer()],
    ['palette.png', img().png({ palette: true }).toBuffer()],
    ['webp', img().webp({ lossless: true }).toBuffer()],
    ['avif', img().avif({ lossless: true }).toBuffer()],
    ['tiff', img().tiff({ compression: 'lzw' }).toBuffer()],
    ['gif', img().gif().toBuffer()],
  ];
  for (const [name, bytes] of exact) {
    const p = join(root, `fmt.${name}`);
    writeFileSync(p, await bytes);
    const r = await decodeRaw(p);
    assert.deepEqual([r.width, r.height, r.channels, Array.from(r.data)], [2, 2, 3, Array.from(rgb)], name);
  }
  // CMYK JPEG: lossy and colour-managed, so only "becomes 3-channel RGB with red still red".
  const cmyk = join(root, 'cmyk.jpg');
  writeFileSync(cmyk, await img().toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer());
  const r = await decodeRaw(cmyk);
  assert.equal(r.channels, 3);
  assert.ok(
    r.data[0]! > 150 && r.data[1]! < 80 && r.data[2]! < 80,
    `red pixel came back as ${Array.from(r.data.subarray(0, 3))}`,
  );
});

test('random-resized crops and flips repeat exactly for a seed, whatever order the decodes finish in', async () => {
  const ds = await openData(photos, { input: [3, 32, 32], augment: 'imagenet', cacheBelow: 0 });
  assert.equal(ds.train.source.kind, 'files');
  const a = await collect(ds.train);
  const b = await collect(ds.train, { prefetch: 4 });
  assert.equal(a.length, 4);
  a.forEach((x, k) => assert.deepEqual(x.x, b[k]!.x, `batch ${k}`));
  const other = await collect(ds.train, { epoch: 1 });
  assert.notDeepEqual(other[0]!.x, a[0]!.x);
  // Evaluation has no randomness: the centred crop of the same file is the same in every epoch and order.
  const plain = await openData(photos, { input: [3, 32, 32], augment: 'none', cacheBelow: 0 });
  const e0 = await collect(plain.train, { shuffle: false });
  const e1 = await collect(plain.train, { shuffle: false, epoch: 5 });
  e0.forEach((x, k) => assert.deepEqual(x.x, e1[k]!.x));
});

test('reused batch buffers hold each batch intact until the next is requested', async () => {
  const ds = await openData(photos, { input: [3, 32, 32], augment: 'imagenet', cacheBelow: 0 });
  const fresh = await collect(ds.train);
  const reused = await collect(ds.train, { reuse: true });
  assert.equal(reused.length, fresh.length);
  reused.forEach((x, k) => {
    assert.deepEqual(x.x, fresh[k]!.x);
    assert.deepEqual(x.y, fresh[k]!.y);
  });
});

test('skip starts the epoch at a batch without changing what follows', async () => {
  const ds = await openData(photos, { input: [3, 32, 32], augment: 'imagenet', cacheBelow: 0 });
  const all = await collect(ds.train);
  const tail = await collect(ds.train, { skip: 2 });
  assert.equal(tail.length, all.length - 2);
  tail.forEach((x, k) => {
    assert.deepEqual(x.indices, all[k + 2]!.indices);
    assert.deepEqual(x.x, all[k + 2]!.x);
  });
});

test('--augment imagenet on in-memory images applies seeded random-resized crops too', async () => {
  const ds = await openData(photos, { input: [3, 32, 32], augment: 'imagenet' });
  assert.equal(ds.train.source.kind, 'memory');
  const plain = await openData(photos, { input: [3, 32, 32], augment: 'none' });
  const a = await collect(ds.train),
    b = await collect(ds.train);
  const p = await collect(plain.train);
  a.forEach((x, k) => assert.deepEqual(x.x, b[k]!.x));
  // Same samples in the same order, different pixels: the crops changed the images, not the order.
  assert.deepEqual(a[0]!.indices, p[0]!.indices);
  assert.notDeepEqual(a[0]!.x, p[0]!.x);
});

test('a pass left early does not let its unfinished batches write into the next pass', async () => {
  const ds = await openData(photos, { input: [3, 32, 32], augment: 'imagenet', cacheBelow: 0 });
  const opts = { batchSize: 5, seed: 3, epoch: 1, shuffle: true, dropLast: true, prefetch: 2, reuse: true };
  const buffers = new Set<ArrayBufferLike>();
  // Left after one batch: the next two are still being decoded into their buffers.
  for await (const b of ds.train.loader(opts)) {
    buffers.add(b.x.buffer);
    break;
  }
  const whole = await collect(ds.train, { reuse: true });
  for await (const b of ds.train.loader(opts))
    assert.ok(!buffers.has(b.x.buffer), 'a buffer of the abandoned pass was handed out again');
  // A pass that ran to the end keeps its ring: the next pass reuses it and still sees the right pixels.
  const again = await collect(ds.train, { reuse: true });
  again.forEach((x, k) => assert.deepEqual(x.x, whole[k]!.x, `batch ${k}`));
});

test('--augment cifar on image files pads and randomly crops, as it does in memory', async () => {
  const cifar = await openData(photos, { input: [3, 32, 32], augment: 'cifar', cacheBelow: 0 });
  const plain = await openData(photos, { input: [3, 32, 32], augment: 'none', cacheBelow: 0 });
  const [a, b, p] = [await collect(cifar.train), await collect(cifar.train), await collect(plain.train)];
  a.forEach((x, k) => assert.deepEqual(x.x, b[k]!.x));
  // Padding shows as the normalised value of a black pixel along some border of some image.
  const zero = (ch: number) => -cifar.stats.mean[ch]! / cifar.stats.std[ch]!;
  const per = 3 * 32 * 32;
  const padded = a
    .flatMap((x) => Array.from({ length: x.n }, (_, i) => x.x.subarray(i * per, (i + 1) * per)))
    .filter((img) => Math.abs(img[0]! - zero(0)) < 1e-6 || Math.abs(img[32 * 32 - 1]! - zero(0)) < 1e-6);
  assert.ok(padded.length > 0, 'no image shows padding');
  assert.notDeepEqual(a[0]!.x, p[0]!.x);
});

// The teacher cache relies on this (design.md, "Teacher cache"): a sample's augmented pixels in an epoch depend on
// (seed, epoch, sample) only, not on the batch it lands in, for in-memory and file-backed data alike.
test('an augmented sample has the same pixels whatever the batch size, in memory and from files', async () => {
  for (const cacheBelow of [64, 0]) {
    const ds = await openData(photos, { input: [3, 32, 32], augment: 'cifar', cacheBelow });
    const per = 3 * 32 * 32;
    const bySample = async (batchSize: number) => {
      const out = new Map<number, Float32Array>();
      for await (const b of ds.train.loader({ batchSize, seed: 4, epoch: 2, shuffle: true, dropLast: false })) {
        b.indices.forEach((s, r) => out.set(s, b.x.slice(r * per, (r + 1) * per)));
      }
      return out;
    };
    const [small, large] = [await bySample(3), await bySample(8)];
    assert.equal(small.size, 24);
    for (const [s, x] of small) assert.deepEqual(x, large.get(s), `sample ${s} (${cacheBelow ? 'memory' : 'files'})`);
    assert.equal(
      ds.train.identity(),
      (await openData(photos, { input: [3, 32, 32], augment: 'cifar', cacheBelow })).train.identity(),
    );
    assert.notEqual(
      ds.train.identity(),
      (await openData(photos, { input: [3, 32, 32], augment: 'none', cacheBelow })).train.identity(),
    );
  }
});
