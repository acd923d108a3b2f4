// Distillation from unlabeled images through main(): a pile of PNGs (no class folders) distils with KD alone and
// reports agreement with the teacher; a labelled --val-data adds accuracy; compress reports agreement; --pseudo-labels
// and --terms ce=0; runs that cannot work without labels exit 2 saying why.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from '../../src/onnx/onnx_pb.js';
import { SHIPPED_TEACHER } from '../../src/pipeline/assets.js';
import { cli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-unlabeled-'));
after(() => rmSync(root, { recursive: true, force: true }));
const labelled = join(root, 'labelled');
const pile = join(root, 'pile');
// The shipped Fashion-MNIST teacher (the default): trained, 1x28x28, class names in its metadata.
const small = ['--student', 'zoo:cnn-tiny', '--epochs', '1', '--batch-size', '50', '--threads', '1'];
// The shipped teacher as a deployed model often is: exported for any image size (input [N, 1, H, W]).
const dynamic = join(root, 'dynamic.onnx');

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(labelled, 'train'), 300);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(labelled, 'val'), 200);
  const m = fromBinary(ModelProtoSchema, readFileSync(SHIPPED_TEACHER));
  const dims = m.graph!.input[0]!.type!.value.value as {
    shape: { dim: { value: { case: string; value: unknown } }[] };
  };
  dims.shape.dim[2]!.value = { case: 'dimParam', value: 'H' };
  dims.shape.dim[3]!.value = { case: 'dimParam', value: 'W' };
  writeFileSync(dynamic, toBinary(ModelProtoSchema, m));
  // What a user with a deployed model has: a pile of images, some in folders that are not classes.
  mkdirSync(join(pile, 'camera-2'), { recursive: true });
  let k = 0;
  for (const c of readdirSync(join(labelled, 'train'))) {
    for (const f of readdirSync(join(labelled, 'train', c)))
      copyFileSync(
        join(labelled, 'train', c, f),
        k++ % 3 ? join(pile, `${c}-${f}`) : join(pile, 'camera-2', `${c}-${f}`),
      );
  }
});

interface Net {
  name: string;
  bestValAcc: number | null;
  lastValAcc: number | null;
  bestAgreement?: number;
  lastAgreement?: number;
  lastKl?: number;
}
interface Summary {
  networks: Net[];
  fidelity?: { images: number; lastAgreement: number; lastKl: number };
  history: { networks: Record<string, { agreement?: number }> }[];
}

test('an unlabeled folder distils with KD alone and reports agreement with the teacher and KL', async () => {
  const out = join(root, 'kd');
  const r = await cli(['distill', ...small, '--data', pile, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /unlabeled image folder .* 270 training images and 30 held out/);
  assert.match(r.stderr, /10 classes \(named by the teacher's metadata\)/);
  assert.match(r.stderr, /unlabeled data: left out ce \(it reads labels\)/);
  assert.match(r.stderr, /loss = 0\.9·kd\(student\.logits ← teacher\.logits, τ 4\)\n/);
  assert.match(
    r.stderr,
    /epoch 1\/1: .*train agreement \d+\.\d+%, agreement with the teacher student \d+\.\d+% \(KL \d+\.\d+\)/,
  );
  const s = JSON.parse(r.stdout) as Summary;
  const student = s.networks.find((n) => n.name === 'student')!;
  assert.equal(student.bestValAcc, null);
  assert.ok(student.lastAgreement! >= 0 && student.lastAgreement! <= 1 && student.lastKl! > 0, JSON.stringify(student));
  assert.equal(s.fidelity!.images, 30);
  assert.equal(s.fidelity!.lastAgreement, student.lastAgreement);
  assert.equal(s.history[0]!.networks.student!.agreement, student.lastAgreement);
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Summary;
  assert.equal(rec.fidelity!.lastKl, student.lastKl);
  for (const f of ['student.onnx', 'training-curves.png']) assert.ok(existsSync(join(out, f)), f);
});

test('a labelled --val-data beside unlabeled training images reports accuracy (classes matched by name)', async () => {
  const out = join(root, 'valdata');
  const r = await cli(['distill', ...small, '--data', pile, '--val-data', labelled, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /validation data \(--val-data\): 200 labelled images/);
  const s = JSON.parse(r.stdout) as Summary;
  const teacher = s.networks.find((n) => n.name === 'teacher')!;
  const student = s.networks.find((n) => n.name === 'student')!;
  // The shipped teacher scores ~92% on Fashion-MNIST: folders 'T-shirt_top', 'Ankle_boot' map to its class names.
  assert.ok(teacher.bestValAcc! > 0.8, `teacher ${teacher.bestValAcc}`);
  assert.ok(student.lastValAcc !== null && student.lastAgreement !== undefined);
});

test('compress on an unlabeled folder: exports evaluated by agreement with the teacher, and the report says so', async () => {
  const out = join(root, 'compress');
  const r = await cli([
    'compress',
    ...small,
    '--data',
    pile,
    '--out',
    out,
    '--formats',
    'fp32',
    '--verify-images',
    '20',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    evaluation: { metric: string; images: number };
    rows: { role: string; accuracy: number }[];
  };
  assert.equal(report.evaluation.metric, 'teacher agreement');
  assert.equal(report.evaluation.images, 30);
  assert.equal(report.rows.find((x) => x.role === 'teacher')!.accuracy, 1);
  // The exported student agrees with the teacher on the held-out images as the run measured it.
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Summary;
  assert.ok(
    Math.abs(report.rows.find((x) => x.role === 'student')!.accuracy - run.fidelity!.lastAgreement) <= 1 / 30 + 1e-9,
  );
  assert.match(
    readFileSync(join(out, 'report.md'), 'utf8'),
    /Top-1 is the agreement with the teacher on the held-out images/,
  );
  // With a labelled --val-data the report shows accuracy on it instead.
  const withVal = join(root, 'compress-val');
  const v = await cli([
    'compress',
    ...small,
    '--data',
    pile,
    '--val-data',
    labelled,
    '--out',
    withVal,
    '--formats',
    'fp32',
    '--verify-images',
    '20',
  ]);
  assert.equal(v.code, 0, v.stderr);
  const rv = JSON.parse(readFileSync(join(withVal, 'report.json'), 'utf8')) as typeof report;
  assert.equal(rv.evaluation.metric, 'accuracy');
  assert.equal(rv.evaluation.images, 200);
  assert.ok(rv.rows.find((x) => x.role === 'teacher')!.accuracy > 0.8);
});

test("--pseudo-labels trains CE on the teacher's argmax (missing labels); --terms ce=0 leaves CE out of the step", async () => {
  // With a dynamic-size teacher, trained at --input.
  const pseudo = await cli([
    'distill',
    ...small,
    '--data',
    pile,
    '--teacher',
    dynamic,
    '--input',
    '1x28x28',
    '--pseudo-labels',
    '--out',
    join(root, 'pseudo'),
  ]);
  assert.equal(pseudo.code, 0, pseudo.stderr);
  assert.match(pseudo.stderr, /pseudo-labels: ce reads the teacher's argmax instead of labels/);
  assert.match(pseudo.stderr, /loss = 0\.1·ce\(student\.logits ← argmax teacher\.logits\) \+ 0\.9·kd/);
  const zero = await cli(['distill', ...small, '--data', labelled, '--terms', 'ce=0', '--out', join(root, 'ce0')]);
  assert.equal(zero.code, 0, zero.stderr);
  assert.match(zero.stderr, /left out of the step \(weight 0\): ce/);
  assert.match(zero.stderr, /loss = 0\.9·kd\(student\.logits ← teacher\.logits, τ 4\)\n/);
  assert.match(zero.stderr, /val acc student/);
});

test('runs that cannot work without labels exit 2 saying why', async () => {
  const partial = join(root, 'partial.csv');
  writeFileSync(
    partial,
    `${join(pile, 'camera-2', readdirSync(join(pile, 'camera-2'))[0]!)},Bag\n${join(
      pile,
      readdirSync(pile).find((f) => f.endsWith('.png'))!,
    )}\n`,
  );
  const cfg = join(root, 'cfg.yaml');
  writeFileSync(cfg, 'valData: labelled\n');
  const cases: [string[], RegExp][] = [
    [
      ['distill', ...small, '--data', pile, '--method', 'ce'],
      /--method ce has no teacher, and the training data has no labels[^]*--method kd[^]*--pseudo-labels/,
    ],
    [
      ['distill', ...small, '--data', pile, '--method', 'kd', '--terms', 'kd=0'],
      /--method kd needs labels: its terms \(ce\) all read them[^]*--pseudo-labels/,
    ],
    [
      ['distill', ...small, '--data', pile, '--method', 'dml', '--students', '2'],
      /--method dml has no teacher, and the training data has no labels/,
    ],
    [
      ['distill', ...small, '--data', pile, '--method', 'kdml', '--students', '2'],
      /trains its teacher online on the labels/,
    ],
    [['distill', ...small, '--data', pile, '--method', 'mgd+kd'], /staged method mgd trains its stages on labels/],
    [['distill', ...small, '--data', pile, '--teacher', 'zoo:cnn'], /a zoo: teacher is built untrained/],
    [
      ['distill', ...small, '--data', pile, '--teacher', dynamic],
      /the teacher's input 'input' is \[N, 1, H, W\], its image size is dynamic[^]*--input CxHxW/,
    ],
    [
      ['distill', ...small, '--data', labelled, '--method', 'dml', '--students', '2', '--pseudo-labels'],
      /--pseudo-labels takes the labels from the teacher's predictions, but --method dml has no teacher/,
    ],
    [
      ['distill', ...small, '--data', labelled, '--val-data', pile],
      /--val-data: unlabeled image folder .* has no labels/,
    ],
    [
      ['distill', ...small, '--data', partial],
      /partial\.csv:2: this row has no label but others have one[^]*--unlabeled/,
    ],
    [
      ['distill', ...small, '--data', join(labelled, 'train'), '--unlabeled', '--method', 'dkd'],
      /--method dkd needs labels/,
    ],
    [
      ['train', '--model', 'zoo:cnn-tiny', '--data', pile, '--epochs', '1'],
      /has no labels, and no teacher file says which classes there are[^]*distil from a trained teacher/,
    ],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, msg, argv.join(' '));
  }
  const printed = await cli(['distill', '--config', cfg, '--print-config']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, new RegExp(`^valData: ${join(root, 'labelled')}$`, 'm'));
});
