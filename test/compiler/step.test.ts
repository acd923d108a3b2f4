// The multi-network step compiler's contract and its errors: names never clash, taps are addressed per network,
// and every wiring mistake is a UserError that names what is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileStep, type StepSpec } from '../../src/compiler/step.js';
import { UserError } from '../../src/util/errors.js';
import { buildZooModel } from '../../src/zoo/index.js';

const hyper = { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const net = (name: string, zoo: string, trainable: boolean, classes = 10) => ({
  name,
  model: buildZooModel(zoo, { input: [1, 28, 28], classes, seed: 1 }),
  role: name === 'teacher' ? ('teacher' as const) : ('student' as const),
  trainable,
});
const spec = (over: Partial<StepSpec>): StepSpec => ({
  networks: [net('teacher', 'cnn-tiny', false), net('student', 'cnn-tiny', true)],
  terms: [{ term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' } }],
  batch: 4,
  optimizer: 'sgd',
  hyper,
  ...over,
});

test('two copies of one architecture never clash: every state tensor is prefixed by its network', () => {
  const step = compileStep(
    spec({
      networks: [net('teacher', 'cnn-tiny', true), net('student', 'cnn-tiny', true)],
      terms: [
        { term: 'ce', name: 'ce.teacher', taps: { logits: 'teacher.logits' } },
        { term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' } },
      ],
    }),
  );
  const names = step.params.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.every((n) => n.startsWith('teacher/') || n.startsWith('student/')));
  assert.deepEqual(
    step.params.filter((p) => p.network === 'teacher').map((p) => p.source),
    step.params.filter((p) => p.network === 'student').map((p) => p.source),
  );
  assert.deepEqual(step.logits, { teacher: 'logits.teacher', student: 'logits.student' });
});

test('a frozen teacher contributes no state and a stop-gradient target never trains its network', () => {
  const step = compileStep(spec({}));
  assert.ok(step.params.length > 0 && step.params.every((p) => p.network === 'student'));
  assert.equal(step.terms[0]!.text, 'kd(student.logits ← teacher.logits, τ 4)');
});

const rejects = (s: Partial<StepSpec>, re: RegExp) =>
  assert.throws(
    () => compileStep(spec(s)),
    (e: unknown) => e instanceof UserError && re.test(`${e.message} ${e.hint ?? ''}`),
  );

test('wiring errors name the network, tap, term or slot', () => {
  rejects(
    { terms: [{ term: 'at', name: 'at', taps: { student: 'student.f9', teacher: 'teacher.f2' } }] },
    /network 'student' has no tap 'f9'.*available taps: f0, f1, f2, f3, f4, embedding, logits/,
  );
  rejects(
    { terms: [{ term: 'kd', name: 'kd', taps: { student: 'pupil.logits', teacher: 'teacher.logits' } }] },
    /no network 'pupil' \(networks: teacher, student\)/,
  );
  rejects({ terms: [{ term: 'kdx', name: 'kdx', taps: {} }] }, /unknown loss term 'kdx'; known terms: .*kd/);
  rejects({ terms: [{ term: 'kd', name: 'kd', taps: { student: 'student.logits' } }] }, /slot 'teacher' is not wired/);
  rejects(
    {
      terms: [
        {
          term: 'kd',
          name: 'kd',
          taps: { student: 'student.logits', teacher: 'teacher.logits' },
          options: { temperature: 2 },
        },
      ],
    },
    /unknown option 'temperature'; options: tau/,
  );
  rejects(
    { networks: [net('teacher', 'cnn-tiny', false), net('student', 'cnn-tiny', true, 7)] },
    /'student' outputs 7 classes but 'teacher' outputs 10/,
  );
  rejects({ terms: [{ term: 'mse', name: 'mse', taps: { student: 'student.f1', teacher: 'teacher.f2' } }] }, /mse/);
  rejects(
    { networks: [net('teacher', 'cnn-tiny', false), net('teacher', 'cnn-tiny', true)] },
    /two networks are named 'teacher'/,
  );
});
