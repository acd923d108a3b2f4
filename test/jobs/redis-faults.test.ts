// `pipeline run --queue` against a Redis that goes away (issue 22): following for many polls leaks no listener
// (MaxListenersExceededWarning), and Ctrl-C while Redis is down stops following at once, writes the report of what
// is known and exits 130 instead of hanging.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PipelineReport } from '../../src/jobs/report.js';
import { cli, cliAsync, collect, freePort, TEACHER } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-redis-faults-'));
const secret = join(root, 'secret');
const file = join(root, 'p.yaml');
let redis: ChildProcess | undefined;
let url = '';

before(async () => {
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  writeFileSync(secret, 'a-test-secret-of-32-characters!!\n');
  writeFileSync(
    file,
    `defaults: { student: zoo:cnn-tiny, teacher: ${TEACHER}, method: kd, epochs: 1 }\nmatrix: { seed: [0, 1] }\n`,
  );
  redis = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && cli(['pipeline', 'status', '--queue', url]).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 100));
});
after(() => {
  redis?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

test(
  'no listener leak over 12 polls; Ctrl-C with Redis down exits 130 promptly and writes the report',
  { timeout: 120_000 },
  async () => {
    const out = join(root, 'out');
    const child = cliAsync([
      'pipeline',
      'run',
      file,
      '--out',
      out,
      '--queue',
      url,
      '--queue-name',
      'faults',
      '--secret-file',
      secret,
    ]);
    const p = collect(child);
    const t = Date.now();
    while (!/queued matrix \{seed: 1\}/.test(p.err())) {
      assert.ok(Date.now() - t < 60_000, p.err());
      await new Promise((r) => setTimeout(r, 50));
    }
    // 12 polls of 3 s with no worker: one listener per poll crossed Node's limit of 10 at the 11th.
    await new Promise((r) => setTimeout(r, 37_000));
    assert.equal(child.exitCode, null, p.err());
    assert.doesNotMatch(p.err(), /MaxListenersExceededWarning/);
    redis!.kill('SIGKILL');
    await new Promise((r) => redis!.on('exit', r));
    await new Promise((r) => setTimeout(r, 4000));
    const t1 = Date.now();
    child.kill('SIGINT');
    const code = await Promise.race([p.exit, new Promise((r) => setTimeout(() => r('hung'), 30_000))]);
    assert.equal(code, 130, p.err());
    assert.ok(Date.now() - t1 < 15_000, `took ${Date.now() - t1} ms`);
    assert.match(p.err(), /stopped following; 2 job\(s\) stay on the queue/);
    const report = JSON.parse(readFileSync(join(out, 'pipeline-report.json'), 'utf8')) as PipelineReport;
    assert.deepEqual(
      report.jobs.map((j) => j.state),
      ['pending', 'pending'],
    );
    assert.ok(existsSync(join(out, 'pipeline-report.md')));
    assert.doesNotMatch(p.err(), /MaxListenersExceededWarning|internal error/);
  },
);
