// What a run says and returns when it stops early (issue 22): Ctrl-C mid-epoch saves the checkpoint and exits 130;
// a diverged loss says whether a checkpoint exists; a batch larger than the data is refused before compiling; more
// threads than cores is a warning.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { smallImages } from '../jobs/helpers.js';
import { FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-guards-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const env = { ...process.env, ONNX_DISTILL_SOURCE: '1' };
const images = join(root, 'images');
const distill = (out: string, more: string[]) => [
  'distill',
  '--teacher',
  join(FIXTURES, 'small_resnet_eval.onnx'),
  '--student',
  'zoo:cnn-tiny',
  '--method',
  'kd',
  '--data',
  images,
  '--out',
  out,
  ...(more.includes('--threads') ? [] : ['--threads', '1']),
  ...more,
];
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

before(async () => {
  await smallImages(images, 400, 20);
});

test('Ctrl-C in the middle of an epoch saves the checkpoint and exits 130', { timeout: 180_000 }, async () => {
  const out = join(root, 'sigint');
  const child = spawn(process.execPath, [bin, ...distill(out, ['--epochs', '20', '--batch-size', '4'])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  while (!existsSync(join(out, 'checkpoint.bin'))) {
    assert.equal(child.exitCode, null, err);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGINT');
  assert.equal(await exit, 130, err);
  assert.match(err, /saved .*checkpoint\.bin; resume with --resume/);
  assert.match(err, /onnx-distill: interrupted/);
  const meta = loadCheckpoint(out).meta;
  assert.ok(meta.epoch < 20);
});

test('a diverged loss before the first checkpoint says none exists', () => {
  const r = run(distill(join(root, 'nan'), ['--epochs', '1', '--batch-size', '25', '--lr', '1e30']));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /the loss became (NaN|-?Infinity) at epoch 1, batch \d+ .*no checkpoint was saved/);
  assert.doesNotMatch(r.stderr, /last good checkpoint/);
  assert.ok(!existsSync(join(root, 'nan', 'checkpoint.bin')));
});

test('a batch larger than the training set is refused before the step is compiled', () => {
  const r = run(distill(join(root, 'batch'), ['--epochs', '1', '--batch-size', '100000']));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--batch-size 100000 is larger than the training set \(400 images\)/);
  assert.doesNotMatch(r.stderr, /compiled training step/);
});

test('--threads above the core count is a warning', () => {
  const many = cpus().length + 7;
  const r = run(distill(join(root, 'threads'), ['--epochs', '1', '--batch-size', '100', '--threads', String(many)]));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: --threads ${many} is more than this machine's ${cpus().length} cores`));
});
