// Each term's check(): shapes it cannot match give a UserError that names the slots involved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TERMS, termByName } from '../../../src/compiler/terms/index.js';
import { UserError } from '../../../src/util/errors.js';

const bad: { term: string; shapes: Record<string, number[]>; why: string; slots: string[] }[] = [
  { term: 'ce', shapes: { logits: [5, 7, 1] }, why: 'not logits', slots: ['logits'] },
  { term: 'ce', shapes: { logits: [5, 1] }, why: 'one class', slots: ['logits'] },
  {
    term: 'kd',
    shapes: { student: [5, 7], teacher: [5, 8] },
    why: 'class counts differ',
    slots: ['student', 'teacher'],
  },
  { term: 'kd', shapes: { student: [5, 7, 1], teacher: [5, 7, 1] }, why: 'not logits', slots: ['student', 'teacher'] },
  { term: 'kl', shapes: { student: [4, 7], peer: [5, 7] }, why: 'batch sizes differ', slots: ['student', 'peer'] },
  {
    term: 'mse',
    shapes: { student: [5, 3, 4, 4], teacher: [5, 4, 4, 4] },
    why: 'channels differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'dkd',
    shapes: { student: [5, 7], teacher: [5, 6] },
    why: 'class counts differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'at',
    shapes: { student: [5, 3, 6, 6], teacher: [5, 4, 4, 4] },
    why: 'sizes do not divide',
    slots: ['student', 'teacher'],
  },
  {
    term: 'at',
    shapes: { student: [5, 3, 8, 8], teacher: [4, 4, 8, 8] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'at',
    shapes: { student: [5, 3, 8], teacher: [5, 3, 8] },
    why: 'not feature maps',
    slots: ['student', 'teacher'],
  },
  {
    term: 'sp',
    shapes: { student: [5, 3, 4, 4], teacher: [6, 3, 4, 4] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'pkt',
    shapes: { student: [5, 6], teacher: [4, 6] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'fitnet',
    shapes: { student: [5, 3, 4, 4], teacher: [5, 4, 6, 6] },
    why: 'student smaller, not half',
    slots: ['student', 'teacher'],
  },
  {
    term: 'fitnet',
    shapes: { student: [5, 3, 8, 6], teacher: [5, 4, 4, 4] },
    why: 'stride-2 conv gives 4×3',
    slots: ['student', 'teacher'],
  },
  {
    term: 'fitnet',
    shapes: { student: [5, 3, 8, 8], teacher: [5, 4] },
    why: 'teacher not a map',
    slots: ['student', 'teacher'],
  },
  {
    term: 'dist',
    shapes: { student: [5, 7], teacher: [5, 8] },
    why: 'class counts differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'wsld',
    shapes: { student: [4, 7], teacher: [5, 7] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  { term: 'nkd', shapes: { student: [5, 7, 1], teacher: [5, 7, 1] }, why: 'not logits', slots: ['student', 'teacher'] },
  {
    term: 'ctkd',
    shapes: { student: [5, 7], teacher: [5, 6] },
    why: 'class counts differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'reviewkd',
    shapes: { s1: [5, 3, 4], s2: [5, 4, 2, 2], s3: [5, 5], t1: [5, 2, 4, 4], t2: [5, 3, 2, 2], t3: [5, 4] },
    why: 's1 not a map',
    slots: ['s1', 's2', 's3'],
  },
  {
    term: 'reviewkd',
    shapes: { s1: [5, 3, 4, 4], s2: [5, 4, 2, 2], s3: [5, 5], t1: [5, 2, 4, 4], t2: [4, 3, 2, 2], t3: [5, 4] },
    why: 'batch sizes differ',
    slots: ['s1', 't2'],
  },
  {
    term: 'gkd',
    shapes: { student: [5, 6], teacher: [4, 4] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  {
    term: 'gkd',
    shapes: { student: [5, 6, 2, 2], teacher: [5, 4] },
    why: 'student not an embedding',
    slots: ['student', 'teacher'],
  },
  {
    term: 'ifm',
    shapes: { student: [5, 6], teacher: [4, 9] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
  { term: 'ifm', shapes: { student: [1, 6], teacher: [1, 9] }, why: 'a batch of one', slots: ['student', 'teacher'] },
  {
    term: 'kdavg',
    shapes: { student: [5, 7], teacher: [5, 7], head1: [5, 7], head2: [5, 6] },
    why: 'a head has other classes',
    slots: ['student', 'head2'],
  },
  {
    term: 'crd',
    shapes: { student: [5, 6], teacher: [4, 9] },
    why: 'batch sizes differ',
    slots: ['student', 'teacher'],
  },
];

for (const c of bad) {
  test(`${c.term} check() rejects ${JSON.stringify(c.shapes)} (${c.why}) naming the slots`, () => {
    const term = termByName(c.term);
    assert.throws(
      () => term.check!(c.shapes, term.defaults),
      (err: unknown) => {
        assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
        assert.match(err.message, new RegExp(`^${c.term}:`));
        for (const s of c.slots) assert.ok(err.message.includes(`'${s}'`), `message names slot '${s}': ${err.message}`);
        return true;
      },
    );
  });
}

// Shapes each term is meant for: every term of the registry must be listed (and its check() must accept them).
const good: Record<string, Record<string, number[]>> = {
  ce: { logits: [5, 7] },
  kd: { student: [5, 7], teacher: [5, 7] },
  kl: { student: [5, 7], peer: [5, 7] },
  dkd: { student: [5, 7], teacher: [5, 7] },
  mse: { student: [5, 3, 4, 4], teacher: [5, 3, 4, 4] },
  at: { student: [5, 3, 8, 8], teacher: [5, 4, 4, 4] },
  sp: { student: [5, 3, 4, 4], teacher: [5, 8, 2, 2] },
  pkt: { student: [5, 6], teacher: [5, 9] },
  fitnet: { student: [5, 3, 4, 4], teacher: [5, 4, 8, 8] },
  gkd: { student: [5, 6], teacher: [5, 4] },
  ifm: { student: [5, 3, 16, 16], teacher: [5, 4, 16, 16] },
  kdavg: { student: [5, 7], teacher: [5, 7], head1: [5, 7], head2: [5, 7] },
  dist: { student: [5, 7], teacher: [5, 7] },
  wsld: { student: [5, 7], teacher: [5, 7] },
  nkd: { student: [5, 7], teacher: [5, 7] },
  ctkd: { student: [5, 7], teacher: [5, 7] },
  reviewkd: { s1: [5, 3, 4, 4], s2: [5, 4, 2, 2], s3: [5, 5], t1: [5, 2, 8, 8], t2: [5, 3, 4, 4], t3: [5, 4] },
  crd: { student: [5, 6], teacher: [5, 9] },
};
// Options a term needs beyond its defaults (CRD's memory size is set by the run from the training split).
const runOptions: Record<string, Record<string, number>> = { crd: { n_data: 64 } };

test('every term accepts the shapes it is meant for', () => {
  for (const [name, shapes] of Object.entries(good))
    assert.doesNotThrow(
      () => termByName(name).check!(shapes, { ...termByName(name).defaults, ...runOptions[name] }),
      name,
    );
});

test('every term of the registry (src/compiler/terms/) has a check(), cases it rejects and shapes it accepts', () => {
  for (const [name, def] of TERMS) {
    assert.equal(
      typeof def.check,
      'function',
      `term '${name}' has no check(): its shape errors would surface from the graph, not naming its slots`,
    );
    assert.ok(
      bad.some((c) => c.term === name),
      `term '${name}' has no rejected-shape case in this file`,
    );
    assert.ok(good[name], `term '${name}' has no accepted shapes in this file`);
  }
});
