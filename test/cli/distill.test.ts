// `onnx-distill distill` end to end: the binary on a small image folder, a config file with a flag override, the
// --json schema, a PyTorch training-mode student file, and every bad input as a clear exit-2 error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-distill-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ONNX_DISTILL_SOURCE: '1' } });
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');
const small = ['--data', images, '--batch-size', '50', '--threads', '1', '--teacher', teacher];

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 600);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 200);
});

interface Summary {
  networks: { name: string; role: string; params: number; bestValAcc: number; bestEpoch: number; lastValAcc: number }[];
  ensemble: { bestValAcc: number } | null;
}

test('distill through the binary: --json schema, the exported student with its metadata, run.json and the curves', () => {
  const out = join(root, 'kd');
  const r = run([
    'distill',
    ...small,
    '--student',
    'zoo:cnn-tiny',
    '--method',
    'kd',
    '--epochs',
    '1',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.deepEqual(
    s.networks.map((n) => [n.name, n.role]),
    [
      ['teacher', 'teacher'],
      ['student', 'student'],
    ],
  );
  for (const n of s.networks)
    assert.ok(n.bestValAcc >= 0 && n.bestValAcc <= 1 && n.lastValAcc <= 1 && n.params > 0, JSON.stringify(n));
  assert.equal(s.networks[0]!.bestValAcc, s.networks[0]!.lastValAcc);
  assert.equal(s.ensemble, null);
  assert.match(r.stderr, /loss = 0\.1·ce\(student\.logits\) \+ 0\.9·kd\(student\.logits ← teacher\.logits, τ 4\)/);
  const m = loadModel(join(out, 'student.onnx'));
  assert.equal(m.metadata().get('onnx_distill.method'), 'kd');
  assert.match(m.metadata().get('onnx_distill.teacher_sha256') ?? '', /^[0-9a-f]{64}$/);
  assert.equal(JSON.parse(m.metadata().get('onnx_distill.classes')!).length, 10);
  for (const f of ['run.json', 'checkpoint.bin', 'config.yaml', 'training-curves.png'])
    assert.ok(existsSync(join(out, f)), f);
});

test('a config file with a flag override; dml with two students writes both and their ensemble', () => {
  const out = join(root, 'dml');
  const cfg = join(root, 'dml.yaml');
  writeFileSync(cfg, `method: dml\nstudents: 2\nstudent: zoo:cnn-tiny\nepochs: 3\nout: ${out}\n`);
  const printed = run(['distill', '--config', cfg, '--epochs', '1', '--print-config']);
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, /^epochs: 1$/m);
  assert.match(printed.stdout, /^method: dml$/m);
  const r = run(['distill', ...small, '--config', cfg, '--epochs', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.deepEqual(
    s.networks.map((n) => n.name),
    ['student1', 'student2'],
  );
  assert.ok(s.ensemble && s.ensemble.bestValAcc > 0);
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { history: unknown[] };
  assert.equal(rec.history.length, 1);
  for (const f of ['student1.onnx', 'student2.onnx', 'ensemble.onnx']) assert.ok(existsSync(join(out, f)), f);
});

test('a PyTorch training-mode export trains as a student', () => {
  const out = join(root, 'torch-student');
  const r = run([
    'distill',
    ...small,
    '--student',
    join(FIXTURES, 'small_resnet_train.onnx'),
    '--method',
    'kd',
    '--epochs',
    '1',
    '--out',
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(out, 'student.onnx')));
});

test('bad input: a clear message naming what is wrong, exit 2', async () => {
  const bag = readdirSync(join(images, 'train', 'Bag')).slice(0, 4);
  for (const c of ['a', 'b', 'c']) {
    mkdirSync(join(root, 'three', c), { recursive: true });
    bag.forEach((f, i) =>
      writeFileSync(join(root, 'three', c, `${i}.png`), readFileSync(join(images, 'train', 'Bag', f))),
    );
  }
  const bad = join(root, 'bad.yaml');
  writeFileSync(bad, 'method: kd\nepocs: 3\n');
  const wrongType = join(root, 'type.yaml');
  writeFileSync(wrongType, 'method: kd\nepochs: ten\n');
  const cases: [string[], RegExp][] = [
    [['distill', ...small, '--method', 'kdx'], /unknown method 'kdx'; choose from .*kd.*dml/],
    [['distill', ...small, '--method', 'dml', '--students', '1'], /dml needs at least 2 students/],
    [['distill', ...small, '--terms', 'kdd=1'], /--terms: 'kdd' is not a term of this run; its terms are ce, kd/],
    [['distill', ...small, '--terms', 'kd=-1'], /--terms: 'kd=-1'/],
    [['distill', '--config', bad], /bad\.yaml:2: unknown key 'epocs'/],
    [['distill', '--config', wrongType], /type\.yaml:2: 'epochs' must be integer/],
    [
      ['distill', '--teacher', teacher, '--data', join(root, 'three'), '--val-split', '0.25'],
      /teacher .* predicts 10 classes but the data .* has 3/,
    ],
    [['distill', ...small, '--epochs', '0'], /--epochs: '0' must be a positive whole number/],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, msg, argv.join(' '));
  }
});
