// Pipeline files: matrix expansion, stable ids, validation errors with file:line, and the job-kind registry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { expandMatrix, jobId, loadPipelineFile } from '../../src/jobs/spec.js';
import { UserError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'od-pipeline-spec-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const p = join(root, `p${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};

test('a matrix expands over any keys, last key fastest; jobs are added; defaults fill both', async () => {
  assert.deepEqual(expandMatrix({ method: ['kd', 'dml'], seed: [0, 1] }), [
    { method: 'kd', seed: 0 },
    { method: 'kd', seed: 1 },
    { method: 'dml', seed: 0 },
    { method: 'dml', seed: 1 },
  ]);
  const p = await loadPipelineFile(
    file(
      'defaults: { command: distill, student: zoo:cnn, epochs: 2 }\nmatrix: { method: [kd, dml], seed: [0, 1] }\njobs:\n  - { method: fitnet, data: imgs }\n',
    ),
  );
  assert.equal(p.jobs.length, 5);
  assert.deepEqual(
    p.jobs.map((j) => [j.config.method, j.config.seed, j.config.epochs]),
    [
      ['kd', 0, 2],
      ['kd', 1, 2],
      ['dml', 0, 2],
      ['dml', 1, 2],
      ['fitnet', 0, 2],
    ],
  );
  assert.deepEqual(p.jobs[0]!.config.student, ['zoo:cnn']);
  assert.equal(p.jobs[4]!.config.data, join(root, 'imgs'), 'paths are relative to the pipeline file');
  assert.equal(p.jobs[0]!.config.lr, 0.05, 'defaults of the option table are filled in');
  assert.equal(p.jobs[0]!.config.out, undefined);
  assert.equal(new Set(p.jobs.map((j) => j.id)).size, 5);
  assert.match(p.jobs[0]!.source, /matrix \{method: "kd", seed: 0\}/);
});

test('ids hash the resolved config: key order, defaults written out and threads do not change them', async () => {
  const a = await loadPipelineFile(file('jobs:\n  - { method: kd, epochs: 3 }\n'));
  const b = await loadPipelineFile(
    file('jobs:\n  - { epochs: 3, method: kd, lr: 0.05, command: distill, threads: 4 }\n'),
  );
  const c = await loadPipelineFile(file('jobs:\n  - { method: kd, epochs: 4 }\n'));
  assert.equal(a.jobs[0]!.id, b.jobs[0]!.id);
  assert.notEqual(a.jobs[0]!.id, c.jobs[0]!.id);
  assert.match(a.jobs[0]!.id, /^[0-9a-f]{12}$/);
  assert.equal(jobId('distill', { b: 1, a: [1, { y: 2, x: 1 }] }), jobId('distill', { a: [1, { x: 1, y: 2 }], b: 1 }));
});

test('mistakes name the file, the line and the key', async () => {
  const cases: [string, RegExp][] = [
    ['defaults: { epochs: 2 }\n', /no jobs: give `jobs:` or `matrix:`/],
    ['jobs:\n  - { method: kd }\nmatrixx: { seed: [0] }\n', /:3: unknown key 'matrixx'/],
    ['matrix:\n  seed: 3\n', /:2: 'matrix.seed' must be array/],
    [
      'defaults:\n  epochs: 2\nmatrix:\n  method: [kd]\n  epocs: [1, 2]\n',
      /:5: matrix \{method: "kd", epocs: 1\}: unknown key 'epocs'/,
    ],
    ['jobs:\n  - method: kd\n  - method: kd\n    epochs: zero\n', /:4: jobs\[1\]: 'epochs' must be integer/],
    ['jobs:\n  - { method: kd, out: runs/x }\n', /:2: jobs\[0\]: 'out' is set by the pipeline/],
    ['jobs:\n  - { command: compres, student: zoo:cnn }\n', /:2: jobs\[0\]: unknown command 'compres'/],
    ['jobs:\n  - { command: quantise }\n', /unknown command 'quantise'/],
    ['jobs:\n  - { seed: 1 }\n  - { seed: 1, epochs: 10 }\n', /jobs\[1\] and jobs\[0\] are the same job/],
    ['jobs: [ { method: kd }\n', /:\d+: /],
  ];
  for (const [text, msg] of cases) {
    await assert.rejects(
      loadPipelineFile(file(text)),
      (e: unknown) => e instanceof UserError && msg.test(e.message),
      `${text} -> ${msg}`,
    );
  }
});
