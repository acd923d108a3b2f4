// Unlabeled data: the rule that tells an unlabeled folder from one of class folders, --unlabeled, label-less lists and
// IDX images, the held-out part, --val-data's class mapping, and the fidelity meter.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { openData, openValData, UNLABELED_VAL_SPLIT } from '../../src/data/index.js';
import { UNLABELED } from '../../src/data/types.js';
import { FidelityMeter } from '../../src/eval/metrics.js';
import { UserError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'od-unlabeled-'));
after(() => rmSync(root, { recursive: true, force: true }));
const SUBSET = new URL('../../models/fashion-mnist-subset', import.meta.url).pathname;

async function png(path: string, v: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp(Buffer.alloc(8 * 8, v), { raw: { width: 8, height: 8, channels: 1 } })
    .png()
    .toFile(path);
}

before(async () => {
  // pile/: images at the top and in dated sub-folders (not classes); classes/: two class folders.
  for (let i = 0; i < 6; i++) await png(join(root, 'pile', `top${i}.png`), 10 * i);
  for (let i = 0; i < 4; i++) await png(join(root, 'pile', '2024-01', `a${i}.png`), 100 + i);
  await png(join(root, 'pile', '2024-02', 'deeper', 'b.png'), 200);
  writeFileSync(join(root, 'pile', 'notes.txt'), 'not an image');
  for (const c of ['cat', 'dog'])
    for (let i = 0; i < 5; i++) await png(join(root, 'classes', c, `${i}.png`), c === 'cat' ? i : 200 + i);
});

const labelsOf = async (ds: Awaited<ReturnType<typeof openData>>) => {
  const ys: number[] = [];
  for await (const b of ds.train.loader({ batchSize: 100, seed: 0, epoch: 0, shuffle: false, dropLast: false }))
    ys.push(...b.y);
  return ys;
};

test('a folder holding images directly is unlabeled: every image at any depth, sub-folders are not classes', async () => {
  const ds = await openData(join(root, 'pile'), { input: [1, 8, 8], augment: 'none', valSplit: 0.25 });
  assert.equal(ds.labelled, false);
  assert.deepEqual(ds.classes, []);
  assert.equal(ds.train.size + ds.val!.size, 11);
  assert.equal(ds.val!.size, 3);
  assert.ok((await labelsOf(ds)).every((y) => y === UNLABELED));
  assert.match(ds.description, /unlabeled image folder .*holds image files directly/);
});

test('without --val-split, unlabeled data holds out UNLABELED_VAL_SPLIT to measure agreement with the teacher', async () => {
  const ds = await openData(join(root, 'pile'), { input: [1, 8, 8], augment: 'none' });
  assert.equal(ds.val!.size, Math.round(11 * UNLABELED_VAL_SPLIT));
});

test('class folders stay labelled; --unlabeled takes their images without labels', async () => {
  const labelled = await openData(join(root, 'classes'), { input: [1, 8, 8], augment: 'none' });
  assert.equal(labelled.labelled, true);
  assert.deepEqual(labelled.classes, ['cat', 'dog']);
  const forced = await openData(join(root, 'classes'), {
    input: [1, 8, 8],
    augment: 'none',
    unlabeled: true,
    valSplit: 0.2,
  });
  assert.equal(forced.labelled, false);
  assert.equal(forced.train.size + forced.val!.size, 10);
  assert.ok((await labelsOf(forced)).every((y) => y === UNLABELED));
});

test('lists without a label column, and IDX images without their labels file, are unlabeled', async () => {
  mkdirSync(join(root, 'lists'), { recursive: true });
  copyFileSync(join(root, 'pile', 'top0.png'), join(root, 'lists', 'x,1.png'));
  copyFileSync(join(root, 'pile', 'top1.png'), join(root, 'lists', 'y.png'));
  writeFileSync(join(root, 'lists', 'paths.csv'), 'path\n"x,1.png"\ny.png\n');
  writeFileSync(join(root, 'lists', 'paths.jsonl'), '{"path":"x,1.png"}\n{"path":"y.png"}\n');
  writeFileSync(join(root, 'lists', 'mixed.csv'), 'x.png,cat\ny.png\n');
  for (const f of ['paths.csv', 'paths.jsonl']) {
    const ds = await openData(join(root, 'lists', f), { input: [1, 8, 8], augment: 'none', valSplit: 0.5 });
    assert.equal(ds.labelled, false, f);
    assert.equal(ds.train.size + ds.val!.size, 2, f);
  }
  await assert.rejects(
    openData(join(root, 'lists', 'mixed.csv'), { input: [1, 8, 8] }),
    (e: unknown) =>
      e instanceof UserError &&
      /mixed\.csv:2: this row has no label/.test(e.message) &&
      /--unlabeled/.test(e.hint ?? ''),
  );
  const idx = join(root, 'idx');
  mkdirSync(idx);
  for (const f of ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz'])
    symlinkSync(join(SUBSET, f), join(idx, f));
  const ds = await openData(idx, {});
  assert.equal(ds.labelled, false);
  assert.deepEqual(ds.input, [1, 28, 28]);
  assert.equal(ds.val!.size, 2000);
  const forced = await openData(SUBSET, { unlabeled: true });
  assert.equal(forced.labelled, false);
});

test("--val-data: labels mapped onto the model's classes by name (as folders spell them) or index; unlabeled refused", async () => {
  const like = await openData(join(root, 'pile'), { input: [1, 8, 8], augment: 'none' });
  const ys = async (classes: string[]) => {
    const { val } = await openValData(join(root, 'classes'), like, classes);
    const out: number[] = [];
    for await (const b of val.loader({ batchSize: 100, seed: 0, epoch: 0, shuffle: false, dropLast: false }))
      out.push(...b.y);
    return out;
  };
  assert.deepEqual(await ys(['Dog', 'bird', 'Cat']), [2, 2, 2, 2, 2, 0, 0, 0, 0, 0]);
  assert.deepEqual(await ys(['0', '1', '2']), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  await assert.rejects(
    openValData(join(root, 'classes'), like, ['ant', 'bee']),
    (e: unknown) =>
      e instanceof UserError && /--val-data: class 'cat' is not one of the model's 2 classes/.test(e.message),
  );
  await assert.rejects(
    openValData(join(root, 'pile'), like, ['a', 'b']),
    (e: unknown) => e instanceof UserError && /--val-data: .* has no labels/.test(e.message),
  );
});

test('fidelity: top-1 agreement and mean KL(teacher ‖ student) in nats', () => {
  const m = new FidelityMeter(3);
  const teacher = Float32Array.of(2, 0, 0, 0, 1, 0);
  const student = Float32Array.of(1, 0, 0, 0, 0, 3);
  m.add(student, teacher, 2);
  const soft = (z: number[]) => {
    const e = z.map(Math.exp);
    const s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  };
  const kl = (t: number[], s: number[]) => {
    const p = soft(t);
    const q = soft(s);
    return p.reduce((a, v, i) => a + v * Math.log(v / q[i]!), 0);
  };
  const r = m.report();
  assert.equal(r.images, 2);
  assert.equal(r.agreement, 0.5);
  assert.ok(Math.abs(r.kl - (kl([2, 0, 0], [1, 0, 0]) + kl([0, 1, 0], [0, 0, 3])) / 2) < 1e-9);
});
