// Sources and loader against real files: folders with broken images, IDX, lists, seeded order, error messages.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { openData } from '../../src/data/index.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { UserError } from '../../src/util/errors.js';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';

const root = mkdtempSync(join(tmpdir(), 'od-data-'));
after(() => rmSync(root, { recursive: true, force: true }));
const subset = new URL('../../models/fashion-mnist-subset', import.meta.url).pathname;

async function png(path: string, v: number, size = 8): Promise<void> {
  await sharp(Buffer.alloc(size * size * 3, v), { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(path);
}

const broken = join(root, 'broken');
before(async () => {
  for (const c of ['cat', 'dog']) {
    mkdirSync(join(broken, c), { recursive: true });
    for (let i = 0; i < 100; i++) await png(join(broken, c, `${i}.png`), c === 'cat' ? 40 : 200);
  }
  writeFileSync(join(broken, 'cat', 'zero.png'), Buffer.alloc(0));
  writeFileSync(join(broken, 'cat', 'text.jpg'), 'not an image at all');
  const good = await sharp(Buffer.alloc(64 * 3, 9), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(join(broken, 'dog', 'truncated.png'), good.subarray(0, good.length / 2));
  writeFileSync(join(broken, 'dog', 'garbage.png'), Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 31) % 256)));
  writeFileSync(join(broken, 'dog', 'header-only.webp'), Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 '));
});

test('a folder with 5 unreadable files among 200 loads the rest and reports exactly those 5', async () => {
  const ds = await openData(broken, { input: [3, 8, 8], valSplit: 0.2, seed: 1 });
  assert.equal(ds.train.size + (ds.val?.size ?? 0), 200);
  const bad = ds
    .failures()
    .map((f) => f.path.slice(broken.length + 1))
    .sort();
  assert.deepEqual(bad, [
    'cat/text.jpg',
    'cat/zero.png',
    'dog/garbage.png',
    'dog/header-only.webp',
    'dog/truncated.png',
  ]);
  let seen = 0;
  for await (const b of ds.train.loader({ batchSize: 16, seed: 0, epoch: 0, shuffle: true, dropLast: true })) {
    assert.deepEqual(b.shape, [16, 3, 8, 8]);
    seen += b.n;
  }
  assert.equal(seen, Math.floor(ds.train.size / 16) * 16);
});

test('--strict fails on the first unreadable file, naming it', async () => {
  await assert.rejects(
    openData(broken, { input: [3, 8, 8], strict: true }),
    (e: unknown) => e instanceof UserError && /broken\/(cat|dog)\/\S+: cannot decode image/.test(e.message),
  );
});

test('seeded shuffling: same seed and epoch give the same order, another epoch another', async () => {
  const ds = await openData(subset, { seed: 0 });
  const order = async (epoch: number) => {
    const ids: number[] = [];
    for await (const b of ds.train.loader({ batchSize: 1000, seed: 5, epoch, shuffle: true, dropLast: false }))
      ids.push(...b.indices);
    return ids;
  };
  const [a, b, c] = [await order(0), await order(0), await order(1)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 12000 }, (_, i) => i),
  );
});

test('drop-last drops only the final incomplete batch', async () => {
  const ds = await openData(subset, { seed: 0 });
  const sizes = async (dropLast: boolean) => {
    const s: number[] = [];
    for await (const b of ds.val!.loader({ batchSize: 300, seed: 0, epoch: 0, shuffle: false, dropLast })) s.push(b.n);
    return s;
  };
  assert.deepEqual(await sizes(true), [300, 300, 300, 300, 300, 300]);
  assert.deepEqual(await sizes(false), [300, 300, 300, 300, 300, 300, 200]);
});

test('real PNGs written by the export script load like the IDX they came from', async () => {
  const idx = openIdx(subset);
  const out = join(root, 'png');
  await exportSplit(idx.train as MemoryImages, idx.classes, join(out, 'train'), 300);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(out, 'val'), 100);
  const ds = await openData(out, { input: [1, 28, 28], augment: 'none' });
  assert.equal(ds.train.size, 300);
  assert.equal(ds.val!.size, 100);
  assert.equal(ds.failures().length, 0);
  // Pixel-exact: the PNG path decodes to the same bytes as the IDX source, in the class order of the folder names.
  const mem = ds.train.source as MemoryImages;
  const srcImages = (idx.train as MemoryImages).images;
  const first = mem.images.subarray(0, 784);
  let match = false;
  for (let i = 0; i < 300 && !match; i++)
    match = Buffer.from(srcImages.subarray(i * 784, (i + 1) * 784)).equals(Buffer.from(first));
  assert.ok(match, 'first decoded PNG equals one of the source IDX images');
});

test(
  'IDX: the real Fashion-MNIST has 60,000 / 10,000 images with labels 0..9',
  { skip: !existsSync('/usr/share/datasets/fashion-mnist') },
  async () => {
    const ds = await openData('fashion-mnist');
    assert.equal(ds.train.size, 60000);
    assert.equal(ds.val!.size, 10000);
    assert.deepEqual(ds.input, [1, 28, 28]);
    assert.equal(ds.classes[9], 'Ankle boot');
  },
);

test('clear errors: empty class, class only in val, wrong input shape, label out of range, unknown name', async () => {
  mkdirSync(join(root, 'empty', 'a'), { recursive: true });
  mkdirSync(join(root, 'empty', 'b'), { recursive: true });
  await png(join(root, 'empty', 'a', '1.png'), 1);
  await assert.rejects(openData(join(root, 'empty')), /empty\/b: class folder 'b' of the training set has no images/);
  for (const [split, c] of [
    ['train', 'a'],
    ['val', 'a'],
    ['val', 'zebra'],
  ]) {
    mkdirSync(join(root, 'tv', split!, c!), { recursive: true });
    await png(join(root, 'tv', split!, c!, '1.png'), 3);
  }
  await assert.rejects(openData(join(root, 'tv')), /class 'zebra' is absent from .*tv\/train/);
  await assert.rejects(openData(subset, { input: [3, 32, 32] }), /holds 1x28x28 images but the model takes 3x32x32/);
  mkdirSync(join(root, 'idx'), { recursive: true });
  const head = (dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = 8;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  writeFileSync(join(root, 'idx', 'train-images-idx3-ubyte'), Buffer.concat([head([2, 2, 2]), Buffer.alloc(8)]));
  writeFileSync(join(root, 'idx', 'train-labels-idx1-ubyte'), Buffer.concat([head([2]), Buffer.from([0, 3])]));
  writeFileSync(join(root, 'idx', 'classes.txt'), 'a\nb\n');
  await assert.rejects(openData(join(root, 'idx')), /label 3 has no class name/);
  await assert.rejects(openData('no-such-dataset-here'), /does not exist/);
});

test('normalisation: measured on image files with --compute-stats, given values checked, recorded for export', async () => {
  // 100 images of gray 40 and 100 of gray 200 (plus the broken files, left out): mean 120/255, std 80/255.
  const measured = await openData(broken, { input: [3, 8, 8], cacheBelow: 0, computeStats: true });
  assert.equal(measured.train.source.kind, 'files');
  measured.stats.mean.forEach((m) => assert.ok(Math.abs(m - 120 / 255) < 1e-9, `mean ${m}`));
  measured.stats.std.forEach((s) => assert.ok(Math.abs(s - 80 / 255) < 1e-9, `std ${s}`));
  assert.equal(measured.preprocess.statsFrom, 'data');
  const plain = await openData(broken, { input: [3, 8, 8], cacheBelow: 0 });
  assert.deepEqual([plain.stats.mean, plain.preprocess.statsFrom], [[0.485, 0.456, 0.406], 'default']);
  const given = await openData(broken, { input: [3, 8, 8], mean: [0.5], std: [0.25] });
  assert.deepEqual(
    [given.stats, given.preprocess.statsFrom],
    [{ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, 'given'],
  );
  await assert.rejects(
    openData(broken, { input: [3, 8, 8], mean: [0.5, 0.5], std: [0.2, 0.2] }),
    /--mean: 2 values for a 3-channel input/,
  );
  await assert.rejects(
    openData(broken, { input: [3, 8, 8], mean: [0.5], std: [0] }),
    /--std: every value must be positive/,
  );
  await assert.rejects(openData(broken, { input: [3, 8, 8], mean: [0.5] }), /--mean and --std go together/);
  await assert.rejects(
    openData(broken, { input: [3, 8, 8], cropFraction: 1.5 }),
    /--crop-fraction: 1.5 must be in \(0, 1\]/,
  );
});

test('CSV and JSONL lists: quoted paths with commas, header and comments, names or indices, errors with line numbers', async () => {
  const dir = join(root, 'lists');
  mkdirSync(join(dir, 'imgs'), { recursive: true });
  await png(join(dir, 'imgs', 'a, 1.png'), 10);
  await png(join(dir, 'imgs', 'b.png'), 20);
  await png(join(dir, 'imgs', 'c.png'), 30);
  const csv = join(dir, 'named.csv');
  writeFileSync(csv, 'path,label\n# a comment\n"imgs/a, 1.png",zebra\nimgs/b.png , ant\n\nimgs/c.png,zebra\n');
  const named = await openData(csv, { input: [3, 8, 8] });
  assert.deepEqual(named.classes, ['ant', 'zebra']);
  assert.equal(named.train.size, 3);
  assert.deepEqual(
    [0, 1, 2].map((i) => named.train.label(i)),
    [1, 0, 1],
  );
  const jsonl = join(dir, 'indexed.jsonl');
  writeFileSync(jsonl, '{"path":"imgs/b.png","label":1}\n{"path":"imgs/c.png","label":0}\n');
  const indexed = await openData(jsonl, { input: [3, 8, 8] });
  assert.deepEqual(indexed.classes, ['0', '1']);
  const bad: [string, string, RegExp][] = [
    ['bad.csv', 'imgs/b.png,ant\nimgs/c.png\n', /bad\.csv:2: this row has no label but others have one/],
    [
      'mixed.csv',
      'imgs/b.png,ant\nimgs/c.png,3\n',
      /mixed\.csv:2: label '3' is a number but other labels are class names/,
    ],
    ['bad.jsonl', '{"path":"imgs/b.png","label":1}\n{"path": 3}\n', /bad\.jsonl:2: each line needs a string "path"/],
    ['broken.jsonl', '{"path":\n', /broken\.jsonl:1: not valid JSON/],
    ['empty.csv', 'path,label\n', /empty\.csv: the list is empty/],
    ['gap.csv', 'imgs/b.png,0\nimgs/c.png,2\n', /class '1' has no readable training images/],
  ];
  for (const [name, text, msg] of bad) {
    writeFileSync(join(dir, name), text);
    await assert.rejects(openData(join(dir, name), { input: [3, 8, 8] }), msg);
  }
});

test('decoding a small-image folder into memory reports progress up to the total', async () => {
  const seen: [string, number, number][] = [];
  await openData(broken, { input: [3, 8, 8], onProgress: (stage, done, total) => seen.push([stage, done, total]) });
  assert.ok(seen.length >= 2);
  assert.deepEqual(seen[seen.length - 1], ['decoding training images', 205, 205]);
  assert.ok(seen.every(([, d, t], i) => d <= t && (i === 0 || d >= seen[i - 1]![1])));
});
