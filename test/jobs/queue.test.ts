// `pipeline run --queue` with BullMQ workers on a Redis started by this test (127.0.0.1, a free port): one worker is
// killed with SIGKILL mid-job, the other takes the job over through stalled-job recovery, resumes from the checkpoint
// and ends with the same weights as an uninterrupted run; an unreachable Redis is a clear error naming the URL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PipelineReport } from '../../src/jobs/report.js';
import { loadPipelineFile } from '../../src/jobs/spec.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { cli, cliAsync, collect, freePort, smallImages, TEACHER } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-pipeline-queue-'));
const file = join(root, 'pipeline.yaml');
const secret = join(root, 'secret');
writeFileSync(secret, 'a-test-secret-of-32-characters!!\n');
let redis: ChildProcess | undefined;
let url = '';

before(async () => {
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root],
    { stdio: 'ignore' },
  );
  await smallImages(join(root, 'images'), 1200, 100);
  writeFileSync(
    file,
    `jobs:\n  - { student: zoo:cnn-tiny, teacher: ${TEACHER}, data: images, method: kd, epochs: 4, batchSize: 25, threads: 1, seed: 3 }\n`,
  );
  for (let i = 0; i < 100 && cli(['pipeline', 'status', '--queue', url]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
});
after(() => {
  redis?.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
});

const worker = () =>
  cliAsync([
    'worker',
    '--queue',
    url,
    '--queue-name',
    'kill-test',
    '--stalled-seconds',
    '2',
    '--root',
    root,
    '--secret-file',
    secret,
  ]);

test(
  'a worker killed with SIGKILL mid-job: another worker resumes it from the checkpoint, same final weights',
  { timeout: 180_000 },
  async () => {
    const [job] = (await loadPipelineFile(file)).jobs;
    const ref = cli(['pipeline', 'run', file, '--out', join(root, 'ref')]);
    assert.equal(ref.status, 0, ref.stderr);
    const out = join(root, 'dist');
    const dir = join(out, job!.id);
    const a = worker();
    const aLog = collect(a);
    const producer = collect(
      cliAsync([
        'pipeline',
        'run',
        file,
        '--out',
        out,
        '--queue',
        url,
        '--queue-name',
        'kill-test',
        '--secret-file',
        secret,
        '--json',
      ]),
    );
    while (!existsSync(join(dir, 'checkpoint.bin'))) {
      assert.equal(a.exitCode, null, `worker A ended early: ${aLog.err()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    a.kill('SIGKILL');
    await aLog.exit;
    assert.ok(!existsSync(join(dir, 'run.json')), 'killed before the job finished');
    const b = worker();
    const bLog = collect(b);
    const code = await producer.exit;
    assert.equal(code, 0, producer.err());
    const report = JSON.parse(producer.out()) as PipelineReport;
    assert.equal(report.jobs[0]!.state, 'done');
    const log = readFileSync(join(dir, 'job.log'), 'utf8');
    assert.equal(log.match(/^# .* pid \d+: onnx-distill distill/gm)?.length, 2, log);
    assert.match(log, /resumed from .*checkpoint\.bin: epoch [1-3], batch 0/);
    assert.equal(loadCheckpoint(dir).meta.epoch, 4);
    assert.ok(
      readFileSync(join(root, 'ref', job!.id, 'student.onnx')).equals(readFileSync(join(dir, 'student.onnx'))),
      'final weights differ from the uninterrupted run',
    );
    assert.match(bLog.err(), /resumed|done/);
    const status = cli(['pipeline', 'status', '--queue', url, '--queue-name', 'kill-test', '--json']);
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual(
      (JSON.parse(status.stdout) as { jobs: { id: string; state: string }[] }).jobs.map((j) => [j.id, j.state]),
      [[job!.id, 'completed']],
    );
    b.kill('SIGTERM');
    assert.equal(await bLog.exit, 0, bLog.err());
  },
);

test('Redis unreachable: a clear error naming the URL, exit 2', async () => {
  const dead = `redis://127.0.0.1:${await freePort()}`;
  for (const args of [
    ['pipeline', 'run', file, '--out', join(root, 'x'), '--queue', dead, '--secret-file', secret],
    ['worker', '--queue', dead, '--root', root, '--secret-file', secret],
    ['pipeline', 'status', '--queue', dead],
  ]) {
    const r = cli(args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach Redis at ${dead.replace(/[./]/g, '\\$&')}`));
  }
  const bad = cli(['worker', '--queue', 'http://example', '--root', root, '--secret-file', secret]);
  assert.match(bad.stderr, /not a redis:\/\/ URL/);
});
