// eval on models this tool did not make: the PyTorch fixture with preprocessing from flags or from metadata, and the
// metrics it reports checked against a hand count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { EvalReport } from '../../src/eval/index.js';
import { AccuracyMeter } from '../../src/eval/metrics.js';
import { percentile, timedRuns } from '../../src/eval/latency.js';
import { loadModel, saveModel } from '../../src/ir/model.js';
import { cli, FIXTURES } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'od-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(FIXTURES, 'small_resnet_eval.onnx');

describe('AccuracyMeter', () => {
  test('top-1, top-5, per-class accuracy and the confusion matrix of a hand-made batch', () => {
    const m = new AccuracyMeter(6);
    // Row 0: class 2 best (label 2, right). Row 1: label 0 ranks 6th (outside top 5). Row 2: label 5 ranks 2nd.
    const logits = Float32Array.from([0, 1, 9, 2, 3, 4, /**/ -5, 1, 2, 3, 4, 5, /**/ 9, 0, 0, 0, 0, 8]);
    m.add(logits, Int32Array.from([2, 0, 5]), 3);
    const r = m.report();
    assert.equal(r.images, 3);
    assert.equal(r.top1, 1 / 3);
    assert.equal(r.top5, 2 / 3);
    assert.deepEqual(r.perClass, [0, null, 1, null, null, 0]);
    assert.equal(r.confusion[0]![5], 1);
    assert.equal(r.confusion[5]![0], 1);
    assert.equal(r.confusion[2]![2], 1);
  });

  test('percentiles are nearest-rank', () => {
    const v = Array.from({ length: 30 }, (_, i) => i + 1);
    assert.equal(percentile(v, 0.5), 15);
    assert.equal(percentile(v, 0.95), 29);
  });
});

describe('latency is bounded by runs and by time', () => {
  const sleep = (ms: number) => () => new Promise((r) => setTimeout(r, ms));

  test('a slow run stops at the time budget, never under the minimum run count', async () => {
    const t0 = performance.now();
    const times = await timedRuns(sleep(20), 1000, 150, 3);
    const wall = performance.now() - t0;
    assert.ok(times.length >= 3 && times.length < 20, `${times.length} runs`);
    assert.ok(wall < 150 + 2 * Math.max(...times), `${wall} ms`);
    assert.equal((await timedRuns(sleep(30), 100, 1, 4)).length, 4);
  });

  test('a fast run stops at the run count, and progress is reported per run', async () => {
    const seen: number[] = [];
    const times = await timedRuns(
      async () => {},
      7,
      60_000,
      3,
      (d) => seen.push(d),
    );
    assert.equal(times.length, 7);
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
  });

  test('eval --latency-seconds cuts a long --runs short and says so', async () => {
    const r = await cli([
      'eval',
      fixture,
      '--mean',
      '0.5',
      '--std',
      '0.5',
      '--runs',
      '1000000',
      '--latency-seconds',
      '0.3',
      '--limit',
      '64',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as EvalReport;
    for (const l of j.latency) {
      assert.ok(l.runs >= 3 && l.runs < 1000000, `${l.runs} runs`);
      assert.equal(l.stoppedBy, 'time');
      assert.equal(l.budgetSeconds, 0.3);
      assert.equal(l.plannedRuns, 1000000);
    }
    const text = await cli([
      'eval',
      fixture,
      '--mean',
      '0.5',
      '--std',
      '0.5',
      '--runs',
      '1000000',
      '--latency-seconds',
      '0.2',
      '--limit',
      '64',
      '--latency-batches',
      '1',
    ]);
    assert.match(text.stdout, /batch 1: \d+ timed runs \(the 0\.2 s budget ended it\)/);
  });

  test('--latency-seconds must be positive', async () => {
    const r = await cli(['eval', fixture, '--latency-seconds', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--latency-seconds: '0' must be a positive number/);
  });
});

describe('eval on a PyTorch export', () => {
  test('with --mean/--std: accuracy, latency at batch 1 and 32, size, parameters and MACs', async () => {
    const r = await cli(['eval', fixture, '--mean', '0.5', '--std', '0.5', '--runs', '5', '--limit', '500', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as EvalReport;
    assert.equal(j.accuracy.images, 500);
    assert.equal(
      j.accuracy.confusion.flat().reduce((a, b) => a + b, 0),
      500,
    );
    assert.ok(j.accuracy.top5 >= j.accuracy.top1);
    assert.deepEqual(
      j.latency.map((l) => l.batch),
      [1, 32],
    );
    for (const l of j.latency) assert.ok(l.p50 > 0 && l.p95 >= l.p50 && l.runs === 5 && l.threads === 1);
    assert.equal(j.sizeBytes, statSync(fixture).size);
    const inspect = JSON.parse((await cli(['inspect', fixture, '--json'])).stdout) as {
      parameters: { count: number };
      macs: { total: number };
    };
    assert.equal(j.parameters, inspect.parameters.count);
    assert.equal(j.macs, inspect.macs.total);
  });

  test('without --mean/--std or metadata it says which normalisation it assumed', async () => {
    const r = await cli(['eval', fixture, '--runs', '2', '--limit', '64', '--latency-batches', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /normalisation: the model records none; using mean [\d.]+ std [\d.]+ .* give --mean\/--std/);
  });

  test('preprocessing and class names come from the metadata when it has them; the text report shows them', async () => {
    const m = loadModel(fixture);
    const names = Array.from({ length: 10 }, (_, i) => `class-${i}`);
    m.setMetadata('onnx_distill.classes', JSON.stringify(names));
    m.setMetadata(
      'onnx_distill.preprocess',
      JSON.stringify({ input: [1, 28, 28], mean: [0.5], std: [0.5], statsFrom: 'given', cropFraction: 1 }),
    );
    const path = join(dir, 'with-meta.onnx');
    saveModel(m, path);
    const r = await cli(['eval', path, '--runs', '3', '--limit', '200', '--latency-batches', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /top-1 \d+\.\d\d%\s+top-5 \d+\.\d\d%/);
    assert.match(r.stdout, /class-9/);
    assert.match(r.stdout, /batch 1\s+p50 [\d.]+ ms\s+p95/);
    assert.match(r.stdout, /1 thread; batch 1: 3 timed runs\)/);
    assert.doesNotMatch(r.stderr, /normalisation: the model records none/);
  });

  test('a model needing 3x64x64 on 28x28 data is exit 2 naming --data', async () => {
    const r = await cli(['eval', join(FIXTURES, 'mobilenetv2_folded.onnx')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--data: .* holds 1x28x28 images but the model's input 'input' takes 3x64x64/);
  });
});
