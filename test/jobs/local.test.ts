// `onnx-distill pipeline run` on this machine: 4 matrix jobs and a failing one at concurrency 2, the aggregated
// report checked against each job's run.json, then a rerun that skips every finished job.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PipelineReport } from '../../src/jobs/report.js';
import { loadPipelineFile } from '../../src/jobs/spec.js';
import type { RunRecord } from '../../src/train/loop.js';
import { cli, smallImages, TEACHER } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-pipeline-local-'));
after(() => rmSync(root, { recursive: true, force: true }));
const out = join(root, 'out');
const file = join(root, 'pipeline.yaml');

before(async () => {
  await smallImages(join(root, 'images'), 600, 100);
  writeFileSync(
    file,
    [
      `defaults: { command: distill, student: zoo:cnn-tiny, teacher: ${TEACHER}, data: images, epochs: 1, batchSize: 50, threads: 1 }`,
      'matrix: { method: [kd, ce], seed: [0, 1] }',
      'jobs:',
      '  - { method: kd, student: no-such-student.onnx }',
      '',
    ].join('\n'),
  );
});

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1));

test(
  '4 jobs at concurrency 2 and one failing job: the others finish, the failure is reported, the numbers match run.json',
  { timeout: 120_000 },
  async () => {
    const r = cli(['pipeline', 'run', file, '--out', out, '--concurrency', '2', '--json']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /1 of 5 job\(s\) failed: [0-9a-f]{12} \(jobs\[0\]\): .*no-such-student\.onnx/);
    const report = JSON.parse(r.stdout) as PipelineReport;
    const p = await loadPipelineFile(file);
    assert.deepEqual(
      report.jobs.map((j) => j.id),
      p.jobs.map((j) => j.id),
    );
    assert.deepEqual(
      report.jobs.map((j) => j.state),
      ['done', 'done', 'done', 'done', 'failed'],
    );
    // Two jobs started before either ended: their job.log headers come before the first run.json was written.
    const started = p.jobs
      .slice(0, 2)
      .map((j) => Date.parse(readFileSync(join(out, j.id, 'job.log'), 'utf8').slice(2, 26)));
    const firstEnd = Math.min(...p.jobs.slice(0, 4).map((j) => statSync(join(out, j.id, 'run.json')).mtimeMs));
    assert.ok(
      started.every((t) => t < firstEnd),
      'two jobs ran at once',
    );
    assert.equal(report.rows.length, 3);
    for (const method of ['kd', 'ce']) {
      const row = report.rows.find(
        (x) => x.group.method === method && JSON.stringify(x.group.student) === '["zoo:cnn-tiny"]',
      )!;
      assert.deepEqual(Object.keys(row.group).sort(), ['batchSize', 'data', 'epochs', 'method', 'student', 'teacher']);
      assert.deepEqual([row.jobs, row.seeds, row.failed], [2, [0, 1], 0]);
      const records = p.jobs
        .filter((j) => j.config.method === method && j.source.startsWith('matrix'))
        .map((j) => JSON.parse(readFileSync(join(out, j.id, 'run.json'), 'utf8')) as RunRecord);
      const student = records.map((rec) => rec.networks.find((n) => n.role === 'student')!);
      assert.ok(
        records.every(
          (rec) =>
            !rec.interrupted &&
            existsSync(join(out, p.jobs.find((j) => rec.outputs.student!.includes(j.id))!.id, 'student.onnx')),
        ),
      );
      const best = student.map((s) => s.bestValAcc!),
        last = student.map((s) => s.lastValAcc!);
      assert.ok(
        Math.abs(row.bestValAcc!.mean - mean(best)) < 1e-12 && Math.abs(row.bestValAcc!.std - std(best)) < 1e-12,
        JSON.stringify(row),
      );
      assert.ok(
        Math.abs(row.lastValAcc!.mean - mean(last)) < 1e-12 && Math.abs(row.lastValAcc!.std - std(last)) < 1e-12,
      );
      const wall = records.map((rec) => rec.compileSeconds + rec.history.reduce((s, h) => s + h.seconds, 0));
      assert.ok(Math.abs(row.wallSeconds!.mean - mean(wall)) < 1e-9);
    }
    const failed = report.rows.find((x) => x.failed === 1)!;
    assert.deepEqual([failed.jobs, failed.bestValAcc], [1, null]);
    for (const f of ['pipeline-report.md', 'pipeline-report.json', 'pipeline-report.png', 'pipeline.json'])
      assert.ok(existsSync(join(out, f)), f);
    const md = readFileSync(join(out, 'pipeline-report.md'), 'utf8');
    assert.match(md, /## Failed jobs\n\n- `[0-9a-f]{12}` \(jobs\[0\]\): .*no-such-student/);
    assert.match(md, /\| method \| jobs \| seeds \|/);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'pipeline-report.json'), 'utf8')), report);
  },
);

test('a rerun skips every finished job and tries the failed one again', { timeout: 60_000 }, async () => {
  const p = await loadPipelineFile(file);
  const before = p.jobs.slice(0, 4).map((j) => statSync(join(out, j.id, 'run.json')).mtimeMs);
  const r = cli(['pipeline', 'run', file, '--out', out, '--concurrency', '2']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.match(/already finished, skipped/g)?.length, 4, r.stderr);
  assert.match(r.stderr, /jobs\[0\]: FAILED: .*no-such-student/);
  assert.deepEqual(
    p.jobs.slice(0, 4).map((j) => statSync(join(out, j.id, 'run.json')).mtimeMs),
    before,
  );
  assert.match(r.stdout, /method\s+jobs\s+seeds/);
  const status = cli(['pipeline', 'status', file, '--out', out, '--json']);
  assert.equal(status.status, 0, status.stderr);
  assert.deepEqual(
    (JSON.parse(status.stdout) as { jobs: { state: string }[] }).jobs.map((j) => j.state),
    ['finished', 'finished', 'finished', 'finished', 'started'],
  );
});
