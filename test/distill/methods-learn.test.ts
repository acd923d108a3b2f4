// A short run of every method learns: the loss falls and every student ends far above chance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNetworks } from '../../src/train/loop.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

const cases: [string, number][] = [
  ['kd', 1],
  ['fitnet', 1],
  ['at', 1],
  ['sp', 1],
  ['pkt', 1],
  ['dkd', 1],
  ['dml', 2],
  ['kdml', 2],
  ['kd+at', 1],
  ['dist', 1],
  ['ctkd', 1],
  ['wsld', 1],
  ['nkd', 1],
  ['kd+dist', 1],
  ['reviewkd', 1],
  ['crd', 1],
];

for (const [method, k] of cases) {
  test(`${method} (${k} student${k > 1 ? 's' : ''}) learns in a short run`, async () => {
    const teacher = await trainedTeacher();
    const students = Array.from({ length: k }, (_, i) => zoo('cnn-tiny', 20 + i));
    const rec = await runNetworks(methodRun(method, teacher, students, { epochs: 3 }));
    const h = rec.history;
    assert.ok(h[2]!.loss < h[0]!.loss, `${method}: loss ${h.map((e) => e.loss.toFixed(4)).join(' -> ')}`);
    for (const n of rec.networks.filter((x) => x.role === 'student')) {
      assert.ok((n.lastValAcc ?? 0) > 0.7, `${method}: ${n.name} val acc ${n.lastValAcc} (chance 0.25)`);
    }
    if (k > 1)
      assert.ok(rec.ensemble && rec.ensemble.lastValAcc > 0.7, `${method}: ensemble ${JSON.stringify(rec.ensemble)}`);
    assert.ok(rec.loss.length > 0 && Object.keys(h[0]!.terms).length === rec.loss.split(' + ').length);
  });
}
