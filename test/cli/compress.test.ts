// `onnx-distill compress` end to end through the binary on a tiny configuration (600 training images, one epoch, int8 calibrated on 200 of them,
// zoo:cnn-tiny from the fixture teacher): the report files, each PNG at the size its spec renders to, report.json
// against a fresh evaluation of every file it lists, --json = report.json; and bad options as exit-2 errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { evaluateModel } from '../../src/eval/index.js';
import {
  accuracyLatencySpec,
  accuracySizeSpec,
  renderSvg,
  trainingCurvesSpec,
  type ReportRow,
  type TrainingHistory,
} from '../../src/report/index.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-compress-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ONNX_DISTILL_SOURCE: '1' } });
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');
const quiet = { json: true, verbose: false, print: () => {}, log: () => {} };

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 600);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 200);
});

interface ReportJson {
  command: string;
  student: string;
  method: string;
  rows: ReportRow[];
  plots: Record<string, string>;
  skipped: unknown[];
  evaluation: { latency: { plannedRuns: number; budgetSeconds: number; runs: Record<string, Record<string, number>> } };
}

// The pixel size a spec renders to at the report's scale (2 px per SVG unit).
async function expectedSize(spec: TopLevelSpec): Promise<{ width: number; height: number }> {
  const svg = await renderSvg(spec);
  const [, w, h] = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg)!;
  return { width: Math.ceil(2 * Number(w)), height: Math.ceil(2 * Number(h)) };
}

test('compress through the binary: teacher and three exports evaluated, report files, plots, --json', async () => {
  const out = join(root, 'run');
  // A constant lr: cosine decayed per step to 0 within this one epoch leaves the tiny student at chance, with logits
  // too close to tie-free for int8 to keep 97% agreement; the test is about the pipeline, not the recipe.
  const r = run([
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
    '--calibration',
    '200',
    '--verify-images',
    '100',
    '--latency-seconds',
    '0.5',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  for (const s of [
    '[1/4] choosing the student',
    '[2/4] distilling (kd, 1 epoch)',
    '[3/4] exporting student as fp32, fp16, int8',
    '[4/4] evaluating the teacher and 3 export(s)',
  ]) {
    assert.ok(r.stderr.includes(s), `no stage message '${s}' in:\n${r.stderr}`);
  }
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportJson;
  assert.deepEqual(JSON.parse(r.stdout), report, '--json prints report.json');
  assert.equal(report.command, 'compress');
  assert.equal(report.student, 'zoo:cnn-tiny');
  assert.equal(report.method, 'kd');
  assert.deepEqual(report.skipped, []);
  assert.deepEqual(
    report.rows.map((x) => [x.model, x.role, x.format]),
    [
      ['teacher', 'teacher', 'fp32'],
      ['student', 'student', 'fp32'],
      ['student', 'student', 'fp16'],
      ['student', 'student', 'int8'],
    ],
  );
  assert.equal(report.rows[0]!.file, teacher);
  assert.deepEqual(
    report.rows.slice(1).map((x) => x.file),
    ['student.fp32.onnx', 'student.fp16.onnx', 'student.int8.onnx'],
  );

  // Every number but latency is reproduced by evaluating the file again; latencies are positive medians.
  for (const row of report.rows) {
    const file = isAbsolute(row.file) ? row.file : join(out, row.file);
    const e = await evaluateModel(file, { data: images, threads: 1, latencyBatches: [1], runs: 1 }, quiet);
    assert.equal(row.accuracy, e.accuracy.top1, `${row.file} accuracy`);
    assert.equal(row.top5, e.accuracy.top5, `${row.file} top-5`);
    assert.equal(row.sizeBytes, e.sizeBytes, `${row.file} size`);
    assert.equal(row.params, e.parameters, `${row.file} params`);
    assert.equal(row.macs, e.macs, `${row.file} MACs`);
    assert.equal(e.accuracy.images, 200);
    assert.ok(row.latencyMsBatch1 > 0 && row.latencyMsBatch32 > row.latencyMsBatch1, JSON.stringify(row));
  }
  assert.ok(report.rows[3]!.sizeBytes < report.rows[0]!.sizeBytes * 4, 'int8 export is of a student, not a teacher');
  // Latency is bounded by --latency-seconds and the report says how many runs each row got.
  const lat = report.evaluation.latency;
  assert.equal(lat.budgetSeconds, 0.5);
  assert.equal(lat.plannedRuns, 30);
  assert.deepEqual(Object.keys(lat.runs), ['teacher fp32', 'student fp32', 'student fp16', 'student int8']);
  for (const runs of Object.values(lat.runs))
    for (const b of ['batch1', 'batch32']) assert.ok(runs[b]! >= 3 && runs[b]! <= 30, JSON.stringify(lat.runs));

  // The plots decode as PNGs at the size their specs render to.
  assert.deepEqual(report.plots, {
    accuracySize: 'accuracy-size.png',
    accuracyLatency: 'accuracy-latency.png',
    trainingCurves: 'training-curves.png',
  });
  const history = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { history: TrainingHistory }).history;
  const specs: Record<string, TopLevelSpec> = {
    accuracySize: accuracySizeSpec(report.rows),
    accuracyLatency: accuracyLatencySpec(report.rows),
    trainingCurves: trainingCurvesSpec(history),
  };
  for (const [k, file] of Object.entries(report.plots)) {
    const meta = await sharp(join(out, file)).metadata();
    assert.equal(meta.format, 'png', file);
    assert.deepEqual({ width: meta.width, height: meta.height }, await expectedSize(specs[k]!), file);
  }
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  for (const f of [
    'student.fp32.onnx',
    'student.int8.onnx',
    'accuracy-size.png',
    'accuracy-latency.png',
    'training-curves.png',
  ])
    assert.ok(md.includes(f), `report.md lacks ${f}`);
  assert.match(md, /up to 30 timed runs or 0\.5 s per model and batch size/);
  for (const f of ['student.onnx', 'run.json', 'config.yaml', 'checkpoint.bin']) assert.ok(existsSync(join(out, f)), f);
});

test('bad options: a clear message, exit 2, before any training', async () => {
  const small = ['compress', teacher, '--data', images, '--out', join(root, 'bad')];
  const cases: [string[], RegExp][] = [
    [[...small, '--size', '0'], /--size: '0' must be a positive number/],
    [[...small, '--size', 'big'], /--size: '.*' is not a number/],
    [[...small, '--size', '1.5'], /--size: '1\.5' must be a fraction of the teacher's parameters in \(0, 1\]/],
    [[...small, '--size', '0.0001'], /no student fits 0 parameters/],
    [[...small, '--formats', 'fp32,int4'], /--formats: unknown format 'int4'; choose from fp32, fp16, int8/],
    [[...small, '--weight-bits', '6'], /--weight-bits: 6 is not one of 7, 8/],
    [
      [...small, '--size', '0.5', '--student', 'zoo:cnn-tiny'],
      /--size 0\.5 chooses the student, but --student zoo:cnn-tiny names one/,
    ],
    [[...small, '--teacher', join(FIXTURES, 'resnet18.onnx')], /two teachers given/],
    [['compress', join(root, 'missing.onnx')], /teacher '.*missing\.onnx': no such file/],
    [
      [...small, '--calibrate', 'median'],
      /Argument: calibrate, Given: "median", Choices: "percentile", "minmax", "entropy"/,
    ],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, msg, argv.join(' '));
  }
  assert.ok(!existsSync(join(root, 'bad', 'run.json')), 'a refused run trained nothing');
});
