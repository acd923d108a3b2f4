// CRD through the loop: its per-batch inputs (the batch's sample indices and negatives) reach the step, its memory banks
// are checkpointed, and a run interrupted mid-epoch and resumed carries on from the saved banks: the banks, the
// normalisers and the student end bit-identical to an uninterrupted run's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorData } from '../../src/runtime/tensor.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runNetworks } from '../../src/train/loop.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

const BANKS = ['crd/memory_v1', 'crd/memory_v2'];
const NORMALISERS = ['crd/z_v1', 'crd/z_v2'];

// The rows of a [n, d] bank whose L2 norm is 1 (written by the step's momentum update; the initial rows are not unit).
function unitRows(t: TensorData): number {
  const [n, d] = t.dims as [number, number];
  const v = t.data as Float32Array;
  let unit = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[i * d + j]! ** 2;
    if (Math.abs(Math.sqrt(s) - 1) < 1e-4) unit++;
  }
  return unit;
}

test('a crd run interrupted mid-epoch and resumed restores its memory banks and ends as an uninterrupted run', async () => {
  const teacher = await trainedTeacher();
  const full = methodRun('crd', teacher, [zoo('cnn-tiny', 41)], { epochs: 2 });
  await runNetworks(full);
  const done = loadCheckpoint(full.outDir).tensors;
  for (const b of BANKS) {
    assert.deepEqual(done[b]?.dims, [512, 128], `${b}: one 128-d row per training sample`);
    // every sample's own index was fed: each row went through the update at least once.
    assert.equal(unitRows(done[b]!), 512, `${b}: rows never updated`);
  }
  for (const z of NORMALISERS) assert.ok((done[z]!.data as Float32Array)[0]! > 0, `${z} was never set`);

  const data = quadrantData(512, 1, (epoch, i) => {
    if (epoch === 1 && i === 5) process.emit('SIGINT');
  });
  const cut = methodRun('crd', teacher, [zoo('cnn-tiny', 41)], { epochs: 2, train: data });
  assert.equal((await runNetworks(cut)).interrupted, true);
  const ck = loadCheckpoint(cut.outDir);
  assert.deepEqual([ck.meta.reason, ck.meta.epoch], ['interrupt', 1]);
  // the interrupted state holds the banks as epoch 1 left them (every row updated in epoch 0), not fresh ones
  for (const b of BANKS) assert.equal(unitRows(ck.tensors[b]!), 512, `${b} at the interrupt`);

  await runNetworks({ ...cut, train: quadrantData(512, 1), resume: true });
  const resumed = loadCheckpoint(cut.outDir).tensors;
  for (const name of [...BANKS, ...NORMALISERS])
    assert.deepEqual(resumed[name]!.data, done[name]!.data, `${name} differs after resume`);
  assert.ok(
    readFileSync(join(full.outDir, 'student.onnx')).equals(readFileSync(join(cut.outDir, 'student.onnx'))),
    'student.onnx differs after resume',
  );
});
