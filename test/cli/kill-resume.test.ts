// kill -9 in the middle of an epoch of `onnx-distill train`, then --resume: the final weights are bit-identical to
// an uninterrupted run (the last epoch checkpoint is intact because every write is atomic, and the data order, the
// augmentation and the step are all seeded). The same for `onnx-distill distill`, whose resume needs only --resume.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-kill-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const env = { ...process.env, ONNX_DISTILL_SOURCE: '1' };
const images = join(root, 'images');

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 1200);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 100);
});

const common = [
  '--data',
  images,
  '--epochs',
  '3',
  '--batch-size',
  '8',
  '--lr',
  '0.05',
  '--threads',
  '1',
  '--seed',
  '7',
  '--json',
];
const trainArgs = (out: string) => [
  'train',
  '--model',
  join(FIXTURES, 'small_resnet_eval.onnx'),
  ...common,
  '--out',
  out,
];
const distillArgs = (out: string) => [
  'distill',
  '--teacher',
  join(FIXTURES, 'small_resnet_eval.onnx'),
  '--student',
  'zoo:cnn-tiny',
  '--method',
  'kd',
  ...common,
  '--out',
  out,
];
let args = trainArgs;

// Start a run and SIGKILL it once epoch 1's checkpoint is on disk and epoch 2 is part-way through; `epochSeconds` is
// the uninterrupted run's epoch 2. Returns how long after the checkpoint the kill came, in ms.
async function killMidEpoch(out: string, epochSeconds: number): Promise<number> {
  const child = spawn(process.execPath, [bin, ...args(out)], { env, stdio: 'ignore' });
  const started = Date.now();
  const ckpt = join(out, 'checkpoint.bin');
  while (!existsSync(ckpt)) {
    if (child.exitCode !== null) throw new Error(`the run ended (${child.exitCode}) before its first checkpoint`);
    await new Promise((r) => setTimeout(r, 10));
  }
  // About a third of an epoch in: the time to the first checkpoint bounds an epoch from above, and the reference
  // run's own epoch 2 keeps a fast step (or a slow start under load) from landing the kill after the epoch.
  const delay = Math.min(1500, (Date.now() - started) / 6, (epochSeconds * 1000) / 3);
  await new Promise((r) => setTimeout(r, delay));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', 'the run was still going when killed');
  return delay;
}

test(
  'train: kill -9 mid-epoch, then --resume, ends bit-identical to an uninterrupted run',
  { timeout: 240_000 },
  async () => {
    const full = join(root, 'full'),
      cut = join(root, 'cut');
    const ref = spawnSync(process.execPath, [bin, ...args(full)], { env, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    const epoch2 = (JSON.parse(readFileSync(join(full, 'run.json'), 'utf8')) as { history: { seconds: number }[] })
      .history[1]!.seconds;
    const delay = await killMidEpoch(cut, epoch2);
    assert.ok(
      delay < epoch2 * 1000 * 0.8,
      `the kill (${delay} ms into epoch 2) must land before epoch 2 (${epoch2} s) ends`,
    );
    const ck = loadCheckpoint(cut);
    assert.equal(ck.meta.epoch, 1, 'killed during epoch 2, after epoch 1 was checkpointed');
    assert.equal(existsSync(join(cut, 'model.onnx')), false);
    const resumed = spawnSync(
      process.execPath,
      [bin, ...args(cut).filter((a) => a !== '--out' && a !== cut), '--resume', cut],
      { env, encoding: 'utf8' },
    );
    assertResumed(resumed, full, cut, 'model.onnx');
  },
);

test(
  'distill: kill -9 mid-epoch, then only --resume, ends bit-identical to an uninterrupted run',
  { timeout: 240_000 },
  async () => {
    args = distillArgs;
    const full = join(root, 'dfull'),
      cut = join(root, 'dcut');
    const ref = spawnSync(process.execPath, [bin, ...args(full)], { env, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    await killMidEpoch(
      cut,
      (JSON.parse(readFileSync(join(full, 'run.json'), 'utf8')) as { history: { seconds: number }[] }).history[1]!
        .seconds,
    );
    assert.equal(loadCheckpoint(cut).meta.epoch, 1, 'killed during epoch 2, after epoch 1 was checkpointed');
    const resumed = spawnSync(process.execPath, [bin, 'distill', '--resume', cut], { env, encoding: 'utf8' });
    assertResumed(resumed, full, cut, 'student.onnx');
  },
);

function assertResumed(resumed: ReturnType<typeof spawnSync>, full: string, cut: string, file: string): void {
  assert.equal(resumed.status, 0, String(resumed.stderr));
  assert.match(String(resumed.stderr), /resumed from .*checkpoint\.bin: epoch 1, batch 0/);
  assert.ok(readFileSync(join(full, file)).equals(readFileSync(join(cut, file))), 'final weights differ');
}
