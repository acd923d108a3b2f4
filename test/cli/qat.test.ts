// `compress --qat` end to end through main() on a tiny configuration (600 training images of the embedded subset, one
// epoch of KD, one of QAT, zoo:cnn-tiny from the fixture teacher): the fp32, PTQ int8 and QAT int8 rows side by side,
// the QAT int8 file written at exactly the activation parameters the run ended with (qat/qat.json) and verified
// against the fake-quantised student; --max-int8-drop deciding by itself; bad values exit 2 naming the option.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import type { QatRecord } from '../../src/export/qat.js';
import { activationParams } from '../../src/export/qdq.js';
import { loadModel } from '../../src/ir/model.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { META_QAT } from '../../src/ir/metadata.js';
import type { QuantizationSummary, ReportRow } from '../../src/report/index.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-qat-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 600);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 200);
});

// The tiny compress run of test/cli/compress.test.ts (constant lr, so one epoch leaves logits int8 can agree on).
const tiny = (out: string) => [
  'compress',
  teacher,
  '--data',
  images,
  '--student',
  'zoo:cnn-tiny',
  '--epochs',
  '1',
  '--batch-size',
  '50',
  '--threads',
  '1',
  '--schedule',
  'constant',
  '--formats',
  'fp32,int8',
  '--calibration',
  '200',
  '--verify-images',
  '100',
  '--latency-seconds',
  '0.2',
  '--out',
  out,
];

test('compress --qat: fp32, PTQ int8 and QAT int8 side by side; the QAT int8 file holds the trained parameters', async () => {
  const out = join(root, 'qat');
  const r = await cli([...tiny(out), '--qat', '--qat-epochs', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /\[qat\] fine-tuning the student quantisation-aware for 1 epoch \(--qat\)/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    rows: ReportRow[];
    qat: QuantizationSummary;
    evaluation: { latency: { runs: Record<string, Record<string, number>> } };
  };
  const row = (model: string, format: string) => report.rows.find((x) => x.model === model && x.format === format);
  const [fp32, ptq, qat] = [row('student', 'fp32'), row('student', 'int8'), row('student-qat', 'int8')];
  assert.ok(fp32 && ptq && qat, `rows: ${report.rows.map((x) => `${x.model} ${x.format}`).join(', ')}`);
  assert.deepEqual(Object.keys(report.evaluation.latency.runs), [
    'teacher fp32',
    'student fp32',
    'student int8',
    'student-qat int8',
  ]);
  assert.deepEqual(
    [report.qat.fp32, report.qat.ptq, report.qat.qat, report.qat.trigger, report.qat.epochs],
    [fp32.accuracy, ptq.accuracy, qat.accuracy, 'qat', 1],
  );
  assert.match(
    qat.notes ?? '',
    /then tracked through QAT by a moving average of constant 0\.01.*agreement with fake-quantised student \(QAT\) (9[7-9]|100)\.\d% \(node\)/,
  );
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /\| \| fp32 \| PTQ int8 \| QAT int8 \|/);
  assert.ok(
    md.includes(
      `| Top-1 | ${(100 * fp32.accuracy).toFixed(2)}% | ${(100 * ptq.accuracy).toFixed(2)}% | ${(100 * qat.accuracy).toFixed(2)}% |`,
    ),
  );
  // The QAT run's record, the same in its run folder and in its student's metadata, with the ranges as training left
  // them (tracked from the calibrated ones)...
  const record = JSON.parse(readFileSync(join(out, 'qat', 'qat.json'), 'utf8')) as QatRecord;
  assert.equal(record.averaging, 0.01);
  assert.ok(record.calibrated, 'the calibrated ranges are kept beside the final ones');
  assert.notDeepEqual(record.ranges, record.calibrated, 'the ranges moved during the QAT epoch');
  const state = loadCheckpoint(join(out, 'qat')).tensors;
  for (const [name, [lo, hi]] of Object.entries(record.ranges))
    assert.deepEqual(
      [state[`student/${name}:qat_min`]?.data[0], state[`student/${name}:qat_max`]?.data[0]],
      [lo, hi],
      `${name}: the record's range is the checkpointed one`,
    );
  assert.deepEqual(
    JSON.parse(
      loadModel(join(out, 'qat', 'student.onnx'))
        .metadata()
        .get(META_QAT)!,
    ),
    record,
  );
  // ...and every activation of the int8 file quantised at exactly the parameters that record gives.
  const int8 = loadModel(join(out, 'student-qat.int8.onnx'));
  const init = new Map(int8.graph.initializers.map((v) => [v.name, v.constant!.toNumbers()[0]!]));
  const names = Object.keys(record.ranges);
  assert.ok(names.length >= 3);
  for (const name of names) {
    const want = activationParams(...record.ranges[name]!);
    assert.equal(init.get(`${name}_scale`), Math.fround(want.scale), `${name}: scale`);
    assert.equal(init.get(`${name}_zero_point`), want.zeroPoint, `${name}: zero point`);
  }
  assert.ok(existsSync(join(out, 'student.int8.onnx')), 'the PTQ int8 export is still written');
});

test('compress --qat --qat-ranges held: the calibrated ranges, no range state, exported as they were', async () => {
  const out = join(root, 'held');
  const r = await cli([...tiny(out), '--qat', '--qat-epochs', '1', '--qat-ranges', 'held']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /uint8 activations from ranges calibrated .* held/);
  const record = JSON.parse(readFileSync(join(out, 'qat', 'qat.json'), 'utf8')) as QatRecord;
  assert.deepEqual([record.averaging, record.calibrated], [undefined, undefined]);
  const state = Object.keys(loadCheckpoint(join(out, 'qat')).tensors);
  assert.ok(state.length > 0 && !state.some((k) => k.includes(':qat_')), 'held ranges are no checkpointed state');
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { rows: ReportRow[] };
  const qat = report.rows.find((x) => x.model === 'student-qat' && x.format === 'int8');
  assert.match(qat?.notes ?? '', /held through QAT/);
  const int8 = loadModel(join(out, 'student-qat.int8.onnx'));
  const init = new Map(int8.graph.initializers.map((v) => [v.name, v.constant!.toNumbers()[0]!]));
  for (const [name, range] of Object.entries(record.ranges))
    assert.equal(init.get(`${name}_scale`), Math.fround(activationParams(...range).scale), `${name}: scale`);
});

test('--qat-ranges takes tracked or held only: another value exits 2 naming it', async () => {
  const r = await cli(['compress', '--qat-ranges', 'sometimes', '--out', join(root, 'bad4')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /qat-ranges.*"sometimes"/);
});

test('compress --max-int8-drop: no QAT fine-tune while PTQ int8 stays within the allowed drop', async () => {
  const out = join(root, 'drop');
  const r = await cli([...tiny(out), '--max-int8-drop', '100']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /PTQ int8 loses -?\d+\.\d\d points \(≤ --max-int8-drop 100\): no QAT fine-tune/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { rows: ReportRow[]; qat?: unknown };
  assert.equal(report.qat, undefined);
  assert.ok(!report.rows.some((x) => x.model === 'student-qat'));
});

for (const [value, why] of [
  ['-1', /--max-int8-drop: '-1' must be ≥ 0/],
  ['abc', /--max-int8-drop: '.*' is not a number/],
  ['101', /--max-int8-drop: '101' must be ≤ 100/],
] as const) {
  test(`compress --max-int8-drop ${value} exits 2 naming the option`, async () => {
    const r = await cli(['compress', '--max-int8-drop', value, '--out', join(root, 'bad')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
  });
}

test('--qat without int8 among --formats, or with two students, exits 2 before training', async () => {
  const noInt8 = await cli(['compress', '--qat', '--formats', 'fp32', '--out', join(root, 'bad2')]);
  assert.equal(noInt8.code, 2, noInt8.stderr);
  assert.match(noInt8.stderr, /--qat: compares int8 students, but --formats fp32 has no int8/);
  const two = await cli(['compress', '--qat', '--students', '2', '--out', join(root, 'bad3')]);
  assert.equal(two.code, 2, two.stderr);
  assert.match(two.stderr, /--qat: the quantisation-aware fine-tune trains one student; this run has 2/);
});

test('export --format int8 of the QAT student keeps its weight bits: another --weight-bits exits 2', async () => {
  const student = join(root, 'qat', 'qat', 'student.onnx');
  assert.ok(existsSync(student), 'the compress --qat test ran first and left its QAT student');
  const r = await cli([
    'export',
    student,
    '--format',
    'int8',
    '--weight-bits',
    '8',
    '--data',
    images,
    '--out',
    join(root, 'x.onnx'),
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--weight-bits 8: .*student\.onnx was trained quantisation-aware with 7-bit weights/);
});
