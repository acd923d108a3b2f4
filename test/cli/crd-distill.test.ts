// `onnx-distill distill --method crd` through main() on a small image folder: the run gives the preset the training
// split's size (the memory banks' rows), the loop feeds every batch's sample indices and other-class negatives, and
// the banks end in the checkpoint with every sample's row written by the step. `compile` says in its contract what a
// loop elsewhere must feed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-crd-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const TRAIN = 300;

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), TRAIN);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 100);
});

test('distill --method crd: memory of the split size, every sample fed to its bank in one epoch', async () => {
  const out = join(root, 'crd');
  const r = await cli([
    'distill',
    '--data',
    images,
    '--teacher',
    join(FIXTURES, 'small_resnet_eval.onnx'),
    '--student',
    'zoo:cnn-tiny',
    '--method',
    'crd',
    '--epochs',
    '1',
    '--batch-size',
    '50',
    '--threads',
    '1',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`0\\.8·crd\\(student\\.embedding ← teacher\\.embedding, [^)]*memory ${TRAIN}\\)`));
  const { tensors } = loadCheckpoint(out);
  for (const name of ['crd/memory_v1', 'crd/memory_v2']) {
    const t = tensors[name]!;
    assert.deepEqual(t.dims, [TRAIN, 128], `${name}: one row per training image`);
    const v = t.data as Float32Array;
    // the step writes the batch's own rows as unit vectors; the initial rows (uniform ±√(3/128)) are not unit.
    const stale = Array.from({ length: TRAIN }, (_, i) => i).filter((i) => {
      let s = 0;
      for (let j = 0; j < 128; j++) s += v[i * 128 + j]! ** 2;
      return Math.abs(Math.sqrt(s) - 1) > 1e-4;
    });
    assert.deepEqual(stale, [], `${name}: rows of samples never fed as the batch's index`);
  }
  for (const z of ['crd/z_v1', 'crd/z_v2']) assert.ok((tensors[z]!.data as Float32Array)[0]! > 0, `${z} unset`);
});

test('compile --method crd: the contract names the per-batch index inputs a loop elsewhere must make', async () => {
  const out = join(root, 'crd-artifacts');
  const r = await cli([
    'compile',
    '--data',
    images,
    '--teacher',
    join(FIXTURES, 'small_resnet_eval.onnx'),
    '--student',
    'zoo:cnn-tiny',
    '--method',
    'crd',
    '--batch-size',
    '50',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(readFileSync(join(out, 'contract.json'), 'utf8')) as ArtifactContract;
  assert.deepEqual(
    c.step.batchInputs?.map((e) => [e.input, e.shape, e.dtype]),
    [
      ['bin_crd.index', [50], 'int64'],
      ['bin_crd.contrast', [50, 16385], 'int64'],
    ],
  );
  assert.match(c.step.batchInputs![1]!.fill, /other classes/);
});
