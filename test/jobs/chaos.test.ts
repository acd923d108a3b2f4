// Chaos (issue 22): a small pipeline on two workers, with forged jobs on the queue, the Redis server killed and
// restarted empty (no persistence) mid-run, and one worker killed with SIGKILL. Every job ends once, the report is
// complete, every forged job is refused, and nothing is written outside the workers' root.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { PipelineReport } from '../../src/jobs/report.js';
import { loadPipelineFile } from '../../src/jobs/spec.js';
import { signJob } from '../../src/jobs/trust.js';
import { cli, cliAsync, collect, freePort, smallImages, TEACHER } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-chaos-'));
const shared = join(root, 'shared');
const outside = join(root, 'outside');
const out = join(shared, 'sweep');
const file = join(root, 'pipeline.yaml');
const secretFile = join(root, 'secret');
const SECRET = 'chaos-test-secret-0123456789abcdef';
const QUEUE = 'chaos';
let port = 0;
let url = '';
let redis: ChildProcess | undefined;
const children: ChildProcess[] = [];

const startRedis = async () => {
  redis = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && cli(['pipeline', 'status', '--queue', url]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
};
let logs = () => '';
const until = async (what: string, ok: () => boolean, ms = 120_000) => {
  const t = Date.now();
  while (!ok()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const spawnCli = (args: string[]) => {
  const c = cliAsync(args);
  children.push(c);
  return c;
};

before(async () => {
  mkdirSync(shared);
  mkdirSync(outside);
  symlinkSync(outside, join(shared, 'escape'));
  writeFileSync(secretFile, `${SECRET}\n`);
  port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  await smallImages(join(root, 'images'), 200, 40);
  writeFileSync(
    file,
    `defaults: { student: zoo:cnn-tiny, teacher: ${TEACHER}, data: images, method: kd, epochs: 3, batchSize: 20, threads: 1 }\nmatrix: { seed: [0, 1, 2, 3] }\n`,
  );
  await startRedis();
});
after(() => {
  for (const c of children) c.kill('SIGKILL');
  redis?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

test(
  'Redis restarted empty and a worker SIGKILLed mid-run, forged jobs injected: each job ends once, report complete, forged jobs refused',
  { timeout: 300_000 },
  async () => {
    const t0 = Date.now();
    const jobs = (await loadPipelineFile(file)).jobs;
    const worker = () =>
      spawnCli([
        'worker',
        '--queue',
        url,
        '--queue-name',
        QUEUE,
        '--stalled-seconds',
        '2',
        '--root',
        shared,
        '--secret-file',
        secretFile,
      ]);
    const a = collect(worker());
    const b = collect(worker());
    const workerA = children[0]!;

    // Forged jobs: no signature; a wrong one; signed but writing outside the root (directly, through a symlink in the
    // root, and through saveArtifacts).
    const q = new Queue(QUEUE, { connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null } });
    const config = { ...jobs[0]!.config };
    const base = { command: 'distill', config, source: 'forged', pipeline: 'evil' };
    const forged = [
      { id: 'f00000000001', ...base, dir: join(out, 'f00000000001') },
      { id: 'f00000000002', ...base, dir: join(out, 'f00000000002'), sig: '0'.repeat(64) },
      signJob(Buffer.from(SECRET), { id: 'f00000000003', ...base, dir: join(outside, 'f00000000003') }),
      signJob(Buffer.from(SECRET), { id: 'f00000000004', ...base, dir: join(shared, 'escape', 'f00000000004') }),
      signJob(Buffer.from(SECRET), {
        id: 'f00000000005',
        ...base,
        config: { ...config, saveArtifacts: join(outside, 'art') },
        dir: join(out, 'f00000000005'),
      }),
      signJob(Buffer.from(SECRET), {
        id: 'f00000000006',
        ...base,
        config: { ...config, exec: 'rm -rf /' },
        dir: join(out, 'f00000000006'),
      }),
    ];
    for (const f of forged) await q.add('distill', f, { jobId: f.id, attempts: 3 });
    await until(
      'the forged jobs to be refused',
      () => (a.err() + b.err()).match(/refused:/g)?.length === forged.length,
    );
    const refusals = a.err() + b.err();
    assert.match(refusals, /job f00000000001 refused: 'sig' is missing/);
    assert.match(refusals, /job f00000000002 refused: 'sig' does not match/);
    assert.match(refusals, /job f00000000003 refused: 'dir' .* is outside the worker's --root/);
    assert.match(
      refusals,
      /job f00000000004 refused: 'dir' .* is outside the worker's --root .*\(it resolves to .*outside/,
    );
    assert.match(refusals, /job f00000000005 refused: config key 'saveArtifacts' .* is outside the worker's --root/);
    assert.match(refusals, /job f00000000006 refused: config key 'exec' is not an option of distill/);
    for (const f of forged)
      assert.equal(await (await q.getJob(f.id))!.getState(), 'failed', 'refused for good, not retried');
    await q.close();

    let ended = false;
    const producer = collect(
      spawnCli([
        'pipeline',
        'run',
        file,
        '--out',
        out,
        '--queue',
        url,
        '--queue-name',
        QUEUE,
        '--secret-file',
        secretFile,
        '--json',
      ]),
    );
    logs = () => `--- pipeline\n${producer.err()}\n--- worker A\n${a.err()}\n--- worker B\n${b.err()}`;
    void producer.exit.then(() => {
      ended = true;
    });
    const checkpoints = () => jobs.filter((j) => existsSync(join(out, j.id, 'checkpoint.bin'))).length;
    await until('a first checkpoint', () => checkpoints() >= 1);
    redis!.kill('SIGKILL');
    await new Promise((r) => redis!.on('exit', r));
    await startRedis();
    const tRestart = Date.now();
    await until('more progress after the restart', () => checkpoints() >= 3 || ended);
    workerA.kill('SIGKILL');
    await a.exit;

    const code = await producer.exit;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(code, 0, `${producer.err()}\n--- worker B\n${b.err()}`);
    const report = JSON.parse(producer.out()) as PipelineReport;
    assert.deepEqual(report.jobs.map((j) => j.id).sort(), jobs.map((j) => j.id).sort(), 'one row per job');
    assert.deepEqual(
      report.jobs.map((j) => j.state),
      jobs.map(() => 'done'),
      producer.err(),
    );
    assert.equal(report.rows[0]!.jobs, 4);
    assert.equal(report.rows[0]!.bestValAcc !== null, true);
    for (const j of jobs) {
      const run = JSON.parse(readFileSync(join(out, j.id, 'run.json'), 'utf8')) as {
        runId: string;
        history: { epoch: number }[];
      };
      // Ended once: one run id, every epoch once.
      assert.deepEqual(
        run.history.map((h) => h.epoch),
        [1, 2, 3],
        j.id,
      );
      assert.match(readFileSync(join(out, j.id, 'config.yaml'), 'utf8'), new RegExp(`# onnx-distill run ${run.runId}`));
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the root');
    for (const f of forged) assert.ok(!existsSync(join(out, f.id)), `${f.id} wrote nothing`);
    assert.match(
      producer.err(),
      /vanished from the queue \(Redis restarted without persistence\?\); queued again/,
      'the restart lost queued jobs',
    );
    const requeued = producer.err().match(/vanished from the queue/g)?.length ?? 0;
    const resumed = (a.err() + b.err()).match(/\] done \(resumed\)/g)?.length ?? 0;
    console.log(
      `chaos: ${jobs.length} jobs, ${forged.length} forged jobs refused, Redis restarted ${((tRestart - t0) / 1000).toFixed(1)} s in, ${requeued} job(s) re-queued after it, ${resumed} finished from a checkpoint; total ${seconds.toFixed(1)} s`,
    );
    children[1]!.kill('SIGTERM');
    assert.equal(await b.exit, 0, b.err());
  },
);
