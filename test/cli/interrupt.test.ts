// Ctrl-C before the training loop (while the images are read): the run exits 130 with "interrupted", not by the
// signal, and leaves its --out folder unlocked for the next run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { LOCK_FILE } from '../../src/util/lock.js';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';

const root = mkdtempSync(join(tmpdir(), 'od-int-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const images = join(root, 'images');

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 3000);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 100);
});

test('Ctrl-C while the data is read exits 130 and releases the --out lock', async () => {
  const out = join(root, 'run');
  const args = [
    'distill',
    '--data',
    images,
    '--student',
    'zoo:cnn-tiny',
    '--epochs',
    '1',
    '--threads',
    '1',
    '--out',
    out,
  ];
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ONNX_DISTILL_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '',
    stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  // The lock is taken before the images are listed and decoded; the first epoch's progress comes only after.
  while (!existsSync(join(out, LOCK_FILE))) {
    assert.equal(child.exitCode, null, `the run ended before taking its lock: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGINT');
  const { code, signal } = await done;
  assert.equal(
    stdout.includes('epoch 1/1'),
    false,
    `the interrupt came after training started; the test must interrupt the data load:\n${stdout}`,
  );
  assert.deepEqual({ code, signal }, { code: 130, signal: null }, stderr);
  assert.match(stderr, /interrupted/);
  assert.equal(existsSync(join(out, LOCK_FILE)), false, 'the --out lock is left behind');
});
