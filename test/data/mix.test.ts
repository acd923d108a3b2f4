// Mixup / CutMix (issue 23): Beta(α, α) draws, the in-batch pairing of torchvision's reference (roll by one), the
// pasted box and its λ, the mixed targets (CE = λ·CE(y) + (1 - λ)·CE(y2)), and a distill run that mixes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { mixBatch, mixBatches, sampleBeta } from '../../src/data/mix.js';
import { DataRng } from '../../src/data/random.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { targets } from '../../src/train/labels.js';
import { cli, FIXTURES } from '../cli/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-mix-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 60);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 20);
});

test('λ ~ Beta(α, α): mean 1/2, variance 1/(4(2α + 1)), within [0, 1], repeatable for a seed', () => {
  for (const a of [0.2, 1, 2]) {
    const rng = new DataRng(42);
    const xs = Array.from({ length: 20000 }, () => sampleBeta(rng, a));
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length,
      want = 1 / (4 * (2 * a + 1));
    assert.ok(xs.every((x) => x >= 0 && x <= 1));
    assert.ok(
      Math.abs(mean - 0.5) < 0.01 && Math.abs(v - want) < 0.05 * want,
      `α ${a}: mean ${mean}, var ${v} vs ${want}`,
    );
  }
  assert.equal(sampleBeta(new DataRng(3), 0.4), sampleBeta(new DataRng(3), 0.4));
});

const chw: [number, number, number] = [2, 5, 6];
const batch = (n: number) => Float32Array.from({ length: n * 60 }, (_, i) => Math.sin(i * 1.7) * 3);

test('mixup: image i becomes λ·x[i] + (1 - λ)·x[i - 1] (x[0] pairs with the last), labels rolled alike', () => {
  const x = batch(4),
    orig = x.slice(),
    y = Int32Array.of(3, 1, 4, 1);
  const { y2, lam } = mixBatch(x, y, 4, chw, { mixup: 0.4 }, new DataRng(1));
  assert.deepEqual(Array.from(y2), [1, 3, 1, 4]);
  assert.ok(lam > 0 && lam < 1);
  for (let i = 0; i < 4; i++) {
    const j = (i + 3) % 4;
    for (let k = 0; k < 60; k++)
      assert.ok(Math.abs(x[i * 60 + k]! - (lam * orig[i * 60 + k]! + (1 - lam) * orig[j * 60 + k]!)) < 1e-6);
  }
});

test('cutmix: one box pasted from the partner in every image, λ = 1 - box area / image area', () => {
  let boxes = 0;
  for (let seed = 0; seed < 40; seed++) {
    const x = batch(3),
      orig = x.slice(),
      y = Int32Array.of(0, 1, 2);
    const { y2, lam } = mixBatch(x, y, 3, chw, { cutmix: 1 }, new DataRng(seed));
    assert.deepEqual(Array.from(y2), [2, 0, 1]);
    let pasted = 0;
    for (let i = 0; i < 3; i++) {
      const j = (i + 2) % 3;
      for (let k = 0; k < 60; k++) {
        const v = x[i * 60 + k]!;
        if (v === orig[j * 60 + k] && v !== orig[i * 60 + k]) pasted++;
        else assert.equal(v, orig[i * 60 + k], `seed ${seed} image ${i} value ${k}: neither its own nor its partner's`);
      }
    }
    // The box is the same in all three images and both channels: pasted = 3 · 2 · area.
    assert.ok(Math.abs(1 - pasted / (3 * 2 * 30) - lam) < 1e-12, `seed ${seed}: λ ${lam}, pasted ${pasted}`);
    if (pasted > 0) boxes++;
  }
  assert.ok(boxes >= 30, `${boxes} of 40 batches got a non-empty box`);
});

test('both on: each batch takes mixup or cutmix at random; the stream is seeded by (seed, epoch, batch)', async () => {
  async function* two() {
    for (let k = 0; k < 2; k++) yield { x: batch(4), y: Int32Array.of(0, 1, 2, 3), n: 4 };
  }
  const run = async (seed: number) => {
    const out = [];
    for await (const b of mixBatches(two(), { mixup: 0.2, cutmix: 1 }, chw, seed, 0, 0)) out.push(b);
    return out;
  };
  const a = await run(5),
    b = await run(5),
    c = await run(6);
  assert.deepEqual(
    a.map((z) => [z.mix.lam, Array.from(z.x)]),
    b.map((z) => [z.mix.lam, Array.from(z.x)]),
  );
  assert.notDeepEqual(
    a.map((z) => z.mix.lam),
    c.map((z) => z.mix.lam),
  );
  let cut = 0;
  for (let s = 0; s < 200; s++) {
    const x = batch(2),
      orig = x.slice();
    mixBatch(x, Int32Array.of(0, 1), 2, chw, { mixup: 0.2, cutmix: 1 }, new DataRng(s));
    // CutMix leaves some values exactly as they were; mixup changes all (the partner differs everywhere).
    if (x.some((v, k) => v === orig[k])) cut++;
  }
  assert.ok(cut > 70 && cut < 130, `${cut} of 200 batches cut`);
});

test("mixed targets make CE the λ-weighted sum of the two labels' CE", () => {
  const logits = [
    [2, -1, 0.5],
    [0.1, 0.2, -3],
  ];
  const t = targets(Int32Array.of(0, 2), 2, 3, { y2: Int32Array.of(1, 2), lam: 0.7 });
  assert.deepEqual(
    Array.from(t, (v) => Math.round(v * 1e6) / 1e6),
    [0.7, 0.3, 0, 0, 0, 1],
  );
  const logp = logits.map((z) => {
    const m = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    return z.map((v) => v - m);
  });
  const ce = (row: number, cls: number) => -logp[row]![cls]!;
  const mixed = -logp.reduce((s, lp, r) => s + lp.reduce((q, v, c) => q + t[r * 3 + c]! * v, 0), 0) / 2;
  const split = (0.7 * ce(0, 0) + 0.3 * ce(0, 1) + ce(1, 2)) / 2;
  assert.ok(Math.abs(mixed - split) < 1e-6);
});

test('distill with --mixup and --cutmix: runs, records them, bypasses the teacher cache (its entries hold unmixed images); dkd refused', async () => {
  const out = join(root, 'kd');
  const args = [
    'distill',
    '--data',
    images,
    '--teacher',
    join(FIXTURES, 'small_resnet_eval.onnx'),
    '--student',
    'zoo:cnn-tiny',
    '--epochs',
    '1',
    '--batch-size',
    '20',
    '--threads',
    '1',
  ];
  const r = await cli([...args, '--mixup', '0.2', '--cutmix', '1', '--teacher-cache', 'auto', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /teacher cache: not used with --mixup/);
  assert.match(
    r.stderr,
    /augmentation: .*\+ per batch RandomChoice\(\[RandomMixup\(alpha=0\.2\), RandomCutmix\(alpha=1\)\]\)/,
  );
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
    config: { mixup: number; cutmix: number };
    history: { loss: number }[];
  };
  assert.deepEqual([rec.config.mixup, rec.config.cutmix], [0.2, 1]);
  assert.ok(Number.isFinite(rec.history[0]!.loss));
  const bad = await cli([...args, '--method', 'dkd', '--mixup', '0.2', '--out', join(root, 'dkd')]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--mixup: dkd splits its loss by the target class/);
});
