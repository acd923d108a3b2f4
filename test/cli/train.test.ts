// `onnx-distill train` end to end through the real binary: an image folder with broken files, a PyTorch training-mode
// export, resume, and option errors with exit code 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-train-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ONNX_DISTILL_SOURCE: '1' } });
const images = join(root, 'images');

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 1000);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 200);
  // 5 unreadable files among the 1,000 training images: text, empty, truncated, random bytes, a bare header.
  const good = readFileSync(join(images, 'train', 'Bag', readdirSync(join(images, 'train', 'Bag'))[0]!));
  writeFileSync(join(images, 'train', 'Bag', 'broken-1.png'), 'not a png');
  writeFileSync(join(images, 'train', 'Coat', 'broken-2.png'), Buffer.alloc(0));
  writeFileSync(join(images, 'train', 'Dress', 'broken-3.png'), good.subarray(0, good.length >> 1));
  writeFileSync(
    join(images, 'train', 'Sandal', 'broken-4.jpg'),
    Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 131) % 256)),
  );
  writeFileSync(join(images, 'train', 'Shirt', 'broken-5.webp'), Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 '));
});

test('trains a zoo student on an image folder, skipping and listing the unreadable files', () => {
  const out = join(root, 'run-zoo');
  // Three epochs: the cosine schedule's low final lr settles BatchNorm's running stats (after two, validation
  // accuracy still swings between 17% and 48% across seeds; after three it is 48-56%).
  const r = run([
    'train',
    '--model',
    'zoo:resnet8',
    '--data',
    images,
    '--epochs',
    '3',
    '--batch-size',
    '50',
    '--lr',
    '0.1',
    '--out',
    out,
    '--threads',
    '1',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const listed = r.stderr
    .split('\n')
    .filter((l) => /^\s+\S+: /.test(l) && l.includes('broken-'))
    .map((l) =>
      l
        .trim()
        .split(':')[0]!
        .replace(/^.*\/train\//, ''),
    );
  assert.match(r.stderr, /skipped 5 unreadable image\(s\):/);
  assert.deepEqual(listed.sort(), [
    'Bag/broken-1.png',
    'Coat/broken-2.png',
    'Dress/broken-3.png',
    'Sandal/broken-4.jpg',
    'Shirt/broken-5.webp',
  ]);
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
    history: { valAcc: number; loss: number }[];
  };
  assert.equal(rec.history.length, 3);
  assert.ok(rec.history[2]!.valAcc > 0.3, `val acc ${rec.history[2]!.valAcc}`);
  assert.ok(existsSync(join(out, 'model.onnx')) && existsSync(join(out, 'checkpoint.bin')));
  // The export says how to prepare an image for it: the statistics measured on the 995 readable PNGs.
  const pre = JSON.parse(loadModel(join(out, 'model.onnx')).metadata().get('onnx_distill.preprocess')!) as {
    input: number[];
    mean: number[];
    statsFrom: string;
  };
  assert.deepEqual([pre.input, pre.statsFrom, pre.mean.length], [[3, 32, 32], 'data', 3]);
  assert.match(r.stderr, /normalisation: mean [\d.,]+ std [\d.,]+ \(computed from the training images\)/);
  assert.match(r.stdout, /done: .*model\.onnx/);
});

test('a training-mode ONNX export from PyTorch trains with the same command, and --resume continues it', () => {
  const out = join(root, 'run-torch');
  const args = [
    'train',
    '--model',
    join(FIXTURES, 'small_resnet_train.onnx'),
    '--data',
    images,
    '--batch-size',
    '50',
    '--out',
    out,
    '--threads',
    '1',
    '--schedule',
    'constant',
  ];
  const first = run([...args, '--epochs', '1']);
  assert.equal(first.status, 0, first.stderr);
  const second = run([...args, '--epochs', '2', '--resume', out]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /resumed from .*checkpoint\.bin: epoch 1/);
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { history: unknown[] };
  assert.equal(rec.history.length, 2);
});

test('option mistakes exit 2 with a message naming the option or file', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--epochs', '0', '--data', images], /--epochs: '0' must be a positive whole number/],
    [['train', '--data', join(root, 'nope')], /--data: '.*nope' does not exist/],
    [
      ['train', '--model', 'nope.onnx', '--data', images],
      /--model: 'nope.onnx' is neither a zoo:<name> nor an existing \.onnx file/,
    ],
    [
      ['train', '--model', join(FIXTURES, 'small_resnet_eval.onnx'), '--data', images, '--input', '3x32x32'],
      /--input 3x32x32 disagrees with the model .* which takes 1x28x28/,
    ],
    [['train', '--schedule', 'wobbly', '--data', images], /--schedule: unknown schedule 'wobbly'/],
    [['train', '--resume', join(root, 'images'), '--data', images], /--resume: no checkpoint at/],
    [
      ['train', '--data', images, '--mean', '0.5,x', '--std', '0.2'],
      /--mean: '0.5,x' is not a comma-separated list of numbers/,
    ],
    [['train', '--data', images, '--mean', '0.5,0.5', '--std', '0.2,0.2'], /--mean: 2 values for a 3-channel input/],
  ];
  for (const [argv, msg] of cases) {
    const r = run(argv);
    assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});
