// --lr-update through main(): the resolved config names the granularity (default by schedule), `compile` shows the
// per-step learning rates the run would feed (cosine per step reaches ~0 at the last step, per epoch holds each
// epoch's value), a `stages:` entry sets it per stage, run.json records it, and bad values exit 2 naming the
// option or the config file's line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-lr-update-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const small = [
  '--data',
  images,
  '--teacher',
  join(FIXTURES, 'small_resnet_eval.onnx'),
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--student',
  'zoo:cnn-tiny',
];
let n = 0;
const out = () => join(root, `out${++n}`);
const yaml = (text: string) => {
  const f = join(root, `cfg${++n}.yaml`);
  writeFileSync(f, text);
  return f;
};
const perStep = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract).step.lr.perStep;

async function ok(argv: string[]) {
  const r = await cli(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r;
}

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

test('--print-config resolves lrUpdate: step for cosine, epoch for multistep, the flag over either', async () => {
  assert.match((await ok(['distill', '--print-config'])).stdout, /^lrUpdate: step$/m);
  assert.match((await ok(['distill', '--schedule', 'multistep', '--print-config'])).stdout, /^lrUpdate: epoch$/m);
  assert.match((await ok(['distill', '--lr-update', 'epoch', '--print-config'])).stdout, /^lrUpdate: epoch$/m);
  assert.match((await ok(['compress', '--print-config'])).stdout, /^lrUpdate: step$/m);
});

test('compile: cosine per step decays every step to ~0; --lr-update epoch holds each epoch at its start value', async () => {
  const a = out();
  await ok(['compile', ...small, '--method', 'kd', '--epochs', '2', '--lr', '0.1', '--out', a]);
  const step = perStep(a);
  const S = step.length / 2,
    T = step.length;
  step.forEach((lr, k) =>
    assert.ok(Math.abs(lr - 0.05 * (1 + Math.cos((Math.PI * k) / T))) < 1e-12, `step ${k}: ${lr}`),
  );
  const b = out();
  await ok(['compile', ...small, '--method', 'kd', '--epochs', '2', '--lr', '0.1', '--lr-update', 'epoch', '--out', b]);
  assert.deepEqual(perStep(b), [
    ...Array<number>(S).fill(0.1),
    ...Array<number>(S).fill(0.05 * (1 + Math.cos(Math.PI / 2))),
  ]);
});

test("stages: lrUpdate per stage; a stage with its own schedule takes that schedule's default", async () => {
  const dir = out();
  await ok([
    'compile',
    ...small,
    '--config',
    yaml(
      'method: mgd+kd\nepochs: 2\nstages:\n  heads:\n    lrUpdate: epoch\n  student:\n    schedule: multistep:1\n    lrUpdate: step\n',
    ),
    '--out',
    dir,
  ]);
  const heads = perStep(join(dir, 'stage1-heads'));
  assert.equal(heads[0], heads[heads.length / 2 - 1], 'per epoch: constant within the first epoch');
  assert.notEqual(heads[0], heads[heads.length / 2]);
  const student = perStep(join(dir, 'stage2-student'));
  assert.equal(student[0], student[student.length / 2 - 1], 'multistep changes only at the milestone');
  const dflt = out();
  await ok([
    'compile',
    ...small,
    '--config',
    yaml('method: mgd+kd\nepochs: 2\nstages:\n  heads:\n    schedule: cosine\n'),
    '--lr-update',
    'epoch',
    '--out',
    dflt,
  ]);
  const h = perStep(join(dflt, 'stage1-heads'));
  assert.notEqual(h[0], h[1], "the stage's own cosine steps per step unless the stage says otherwise");
});

test("run.json records lrUpdate and the last epoch's lr decays towards 0 per step", async () => {
  const dir = out();
  await ok(['distill', ...small, '--method', 'kd', '--epochs', '1', '--out', dir, '--json']);
  const rec = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
    config: { lrUpdate: string };
    history: { lr: number }[];
  };
  assert.equal(rec.config.lrUpdate, 'step');
  assert.ok(rec.history[0]!.lr < 0.05 * 0.5, `last lr ${rec.history[0]!.lr}`);
});

test('bad --lr-update and --bn-recalibrate values exit 2 naming the option, the file and line, or the stage key', async () => {
  const cases: [string[], RegExp][] = [
    [['--lr-update', 'batch'], /Argument: lr-update, Given: "batch", Choices: "step", "epoch"/],
    [
      ['--config', yaml('method: kd\n\nlrUpdate: iteration\n')],
      /cfg\d+\.yaml:3: 'lrUpdate' must be equal to one of the allowed values \(step, epoch\)/,
    ],
    [
      ['--config', yaml('method: mgd+kd\nstages:\n  heads:\n    lrUpdate: often\n')],
      /cfg\d+\.yaml:4: 'stages\.heads\.lrUpdate' must be equal to one of the allowed values \(step, epoch\)/,
    ],
    [['--bn-recalibrate', '-1'], /--bn-recalibrate: '-1' must be ≥ 0/],
    [['--config', yaml('method: kd\nbnRecalibrate: 2.5\n')], /cfg\d+\.yaml:2: 'bnRecalibrate' must be integer/],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(['distill', ...small, ...argv, '--out', out()]);
    assert.equal(r.code, 2, `${argv.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, msg, argv.join(' '));
  }
});
