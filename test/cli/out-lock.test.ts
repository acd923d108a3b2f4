// Outputs owned by one run (issue 22): --out is locked while a run writes it (a second writer exits 2 naming the
// holder; a dead holder's lock is stale), --resume refuses a folder whose files belong to different runs, and an
// --out that is a file, a device or cannot be written exits 2 before any work.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOCK_FILE } from '../../src/util/lock.js';
import { smallImages } from '../jobs/helpers.js';
import { FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-out-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const env = { ...process.env, ONNX_DISTILL_SOURCE: '1' };
const images = join(root, 'images');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
const distill = (out: string, more: string[] = []) => [
  'distill',
  '--teacher',
  join(FIXTURES, 'small_resnet_eval.onnx'),
  '--student',
  'zoo:cnn-tiny',
  '--method',
  'kd',
  '--data',
  images,
  '--epochs',
  '1',
  '--batch-size',
  '25',
  '--threads',
  '1',
  '--json',
  '--out',
  out,
  ...more,
];
const holder = (pid: number, host = hostname()) =>
  JSON.stringify({ pid, host, started: '2026-12-04T00:00:00.000Z', command: 'distill' });

before(async () => {
  await smallImages(images, 200, 50);
});

describe('a second writer', () => {
  test('a live holder: exit 2 naming its pid, host and command; nothing written', () => {
    const out = join(root, 'held');
    mkdirSync(out);
    writeFileSync(join(out, LOCK_FILE), holder(process.pid));
    const r = run(distill(out));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`in use by another run: distill \\(pid ${process.pid} on ${hostname()}`));
    assert.ok(!existsSync(join(out, 'config.yaml')), 'refused before any work');
    assert.equal(readFileSync(join(out, LOCK_FILE), 'utf8'), holder(process.pid), "the holder's lock is left alone");
  });

  test('a dead holder on this host is stale: the run takes the lock, finishes and releases it', () => {
    const out = join(root, 'stale');
    mkdirSync(out);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(out, LOCK_FILE), holder(Number(dead.stdout)));
    const r = run(distill(out));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(out, 'student.onnx')));
    assert.ok(!existsSync(join(out, LOCK_FILE)), 'released at the end');
  });

  test('two distill runs started at once on one folder: one finishes, the other exits 2', async () => {
    const out = join(root, 'race');
    const start = () =>
      new Promise<[number | null, string]>((res) => {
        const c = spawn(process.execPath, [bin, ...distill(out)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        c.on('close', (code) => res([code, err]));
      });
    const results = await Promise.all([start(), start()]);
    assert.deepEqual(results.map(([c]) => c).sort(), [0, 2], results.map(([, e]) => e).join('\n---\n'));
    assert.match(results.find(([c]) => c === 2)![1], /in use by another run: distill \(pid \d+/);
  });

  test('pipeline run on a held --out exits 2 before running a job', () => {
    const out = join(root, 'pipe-held');
    mkdirSync(out);
    writeFileSync(join(out, LOCK_FILE), holder(process.pid));
    const file = join(root, 'p.yaml');
    writeFileSync(
      file,
      `jobs:\n  - { student: zoo:cnn-tiny, teacher: ${join(FIXTURES, 'small_resnet_eval.onnx')}, data: images, method: kd, epochs: 1 }\n`,
    );
    const r = run(['pipeline', 'run', file, '--out', out]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /in use by another run/);
    assert.ok(!existsSync(join(out, 'pipeline.json')));
  });
});

describe('--resume and run ids', () => {
  test('config.yaml, checkpoint and run.json carry one run id; --resume refuses a folder mixing two runs', () => {
    const a = join(root, 'run-a');
    const b = join(root, 'run-b');
    for (const out of [a, b]) assert.equal(run(distill(out)).status, 0);
    const id = (dir: string) =>
      /^# onnx-distill run ([0-9a-f]+)$/m.exec(readFileSync(join(dir, 'config.yaml'), 'utf8'))?.[1];
    assert.ok(id(a) && id(b) && id(a) !== id(b));
    assert.equal((JSON.parse(readFileSync(join(a, 'run.json'), 'utf8')) as { runId: string }).runId, id(a));
    // A resume of the intact folder is accepted (all epochs done: it re-exports).
    assert.equal(run(['distill', '--resume', a, '--json']).status, 0);
    copyFileSync(join(b, 'checkpoint.bin'), join(a, 'checkpoint.bin'));
    const r = run(['distill', '--resume', a, '--json']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`belong to different runs \\(checkpoint\\.bin: run ${id(b)}, config\\.yaml: run ${id(a)}`),
    );
  });
});

describe('an --out no run can own', () => {
  const file = join(root, 'a-file.txt');
  const cases: [string, string[], RegExp][] = [
    [
      'distill --out /dev/null',
      ['distill', '--out', '/dev/null'],
      /--out: \/dev\/null is a device or special file, not a folder/,
    ],
    ['train --out <a file>', ['train', '--out', file], /is a file, not a folder/],
    ['compress --out <a file>', ['compress', '--out', file], /is a file, not a folder/],
    [
      'train --out under /proc (cannot be created)',
      ['train', '--out', '/proc/onnx-distill-nope/x'],
      /--out: cannot write to \/proc\/onnx-distill-nope\/x/,
    ],
    [
      'export --force --out /dev/null',
      ['export', join(FIXTURES, 'small_resnet_eval.onnx'), '--format', 'fp32', '--force', '--out', '/dev/null'],
      /--out: \/dev\/null is a device or special file, not a file/,
    ],
    [
      'distill --resume <no such folder>',
      ['distill', '--resume', join(root, 'nope')],
      /--resume: .*nope: no such folder/,
    ],
  ];
  for (const [name, argv, err] of cases) {
    test(`${name} → exit 2, no stack`, () => {
      writeFileSync(file, 'keep me');
      const r = run(argv);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, err);
      assert.doesNotMatch(r.stderr, /\n\s+at |EEXIST|internal error/);
      assert.equal(readFileSync(file, 'utf8'), 'keep me');
    });
  }
});
