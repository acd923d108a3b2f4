// Students by origin through main(): a slim: copy or a student file gets the fine-tuning recipe (said at start, in
// the resolved config and in the compiled lr schedule), a zoo student keeps the from-scratch one, an explicit flag or
// config key overrides it, compress uses it; --freeze keeps the selected tensors bit-identical while the rest train,
// and a bad --freeze exits 2 naming the option.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-finetune-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');
const small = ['--data', images, '--teacher', teacher, '--batch-size', '16', '--threads', '1'];
let n = 0;
const out = () => join(root, `out${++n}`);
const yaml = (text: string) => {
  const f = join(root, `cfg${++n}.yaml`);
  writeFileSync(f, text);
  return f;
};

async function ok(argv: string[]) {
  const r = await cli(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r;
}
const key = (text: string, k: string) => text.match(new RegExp(`^${k}: (.*)$`, 'm'))?.[1];

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

test('a slim: student gets the fine-tuning recipe, said at start and compiled into the lr schedule; a zoo student keeps lr 0.05', async () => {
  const dir = out();
  const r = await ok(['compile', ...small, '--student', 'slim:0.5', '--method', 'kd', '--epochs', '4', '--out', dir]);
  assert.match(
    r.stderr,
    /recipe: fine-tuning slim:0\.5 \(a slimmed copy of the trained teacher\): lr 0\.005, 1-epoch linear warm-up, sgd momentum 0\.9/,
  );
  const c = JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract;
  const lrs = c.step.lr.perStep;
  assert.equal(lrs[0], 0, 'the warm-up starts at 0');
  assert.ok(Math.max(...lrs) <= 0.005 && Math.max(...lrs) > 0.004, `peak ${Math.max(...lrs)}`);
  assert.equal(c.optimizer.name, 'sgd');
  const printed = (await ok(['distill', '--student', 'slim:0.5', '--print-config'])).stdout;
  assert.deepEqual([key(printed, 'lr'), key(printed, 'warmup'), key(printed, 'optimizer')], ['0.005', '1', 'sgd']);
  const zoo = (await ok(['distill', '--student', 'zoo:cnn', '--print-config'])).stdout;
  assert.deepEqual([key(zoo, 'lr'), key(zoo, 'warmup')], ['0.05', '0']);
  const zr = await ok([
    'compile',
    ...small,
    '--student',
    'zoo:cnn-tiny',
    '--method',
    'kd',
    '--epochs',
    '1',
    '--out',
    out(),
  ]);
  assert.doesNotMatch(zr.stderr, /recipe:/);
});

test('an explicit --lr or config key overrides the fine-tuning default; the other defaults stay', async () => {
  const file = join(FIXTURES, 'small_resnet_train.onnx');
  const flag = (await ok(['distill', '--student', file, '--lr', '0.02', '--print-config'])).stdout;
  assert.deepEqual([key(flag, 'lr'), key(flag, 'warmup')], ['0.02', '1']);
  const cfg = (
    await ok(['distill', '--config', yaml(`student: ${file}\noptimizer: adamw\nwarmup: 0\n`), '--print-config'])
  ).stdout;
  assert.deepEqual([key(cfg, 'lr'), key(cfg, 'warmup'), key(cfg, 'optimizer')], ['0.005', '0', 'adamw']);
  const dir = out();
  await ok(['compile', ...small, '--student', file, '--lr', '0.02', '--warmup', '0', '--epochs', '1', '--out', dir]);
  assert.equal(
    (JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract).step.lr.perStep[0],
    0.02,
  );
});

test('compress uses the fine-tuning recipe for a given student file or slim: copy', async () => {
  const printed = (await ok(['compress', '--student', 'slim:0.5', '--print-config'])).stdout;
  assert.deepEqual([key(printed, 'lr'), key(printed, 'warmup')], ['0.005', '1']);
  assert.equal(
    key((await ok(['compress', '--student', 'slim:0.5', '--lr', '0.01', '--print-config'])).stdout, 'lr'),
    '0.01',
  );
});

test('--freeze keeps the selected tensors bit-identical (BatchNorm statistics too) while the others train', async () => {
  const student = join(FIXTURES, 'small_resnet_eval.onnx');
  const before = new Map(loadModel(student).graph.initializers.map((v) => [v.name, Buffer.from(v.constant!.bytes())]));
  for (const [spec, frozen] of [
    ['conv1.*,bn1.*,layer1.*', /^(conv1|bn1|layer1)\./],
    ['f1', /^(conv1|bn1|layer1)\./],
  ] as const) {
    const dir = out();
    const r = await ok([
      'distill',
      ...small,
      '--student',
      student,
      '--method',
      'kd',
      '--epochs',
      '1',
      '--lr',
      '0.05',
      '--freeze',
      spec,
      '--out',
      dir,
    ]);
    assert.match(
      r.stderr,
      new RegExp(`--freeze ${spec.replace(/[.*]/g, '\\$&')}: 15 learned tensors of student fixed`),
    );
    const after = loadModel(join(dir, 'student.onnx')).graph.initializers;
    let moved = 0;
    for (const v of after) {
      const same = Buffer.from(v.constant!.bytes()).equals(before.get(v.name)!);
      if (frozen.test(v.name)) assert.ok(same, `${spec}: frozen ${v.name} changed`);
      else if (!same) moved++;
    }
    assert.ok(moved >= 15, `${spec}: only ${moved} unfrozen tensors moved`);
  }
});

test('a bad --freeze exits 2 naming the option', async () => {
  const student = join(FIXTURES, 'small_resnet_eval.onnx');
  const cases: [string, RegExp][] = [
    ['nosuch', /--freeze: 'nosuch' is neither a tap nor a value of the student, and has no '\*' to make it a pattern/],
    ['layer9.*', /--freeze: 'layer9\.\*' matches none of the student's learned tensors/],
    [',', /--freeze: ',' names no tap or pattern/],
  ];
  for (const [spec, msg] of cases) {
    const r = await cli(['distill', ...small, '--student', student, '--freeze', spec, '--epochs', '1', '--out', out()]);
    assert.equal(r.code, 2, `${spec}\n${r.stderr}`);
    assert.match(r.stderr, msg, spec);
  }
});
