// Where a step's labels come from: the `labels` input only when a term reads labels, the teacher's argmax with
// pseudoLabels (checked by running the step: the CE it reports is CE against onehot(argmax teacher), no other).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { compileStep, type StepSpec } from '../../src/compiler/step.js';
import { Rng } from '../../src/ir/init.js';
import { buildZooModel } from '../../src/zoo/index.js';

const hyper = { weightDecay: 0, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const net = (name: string, zoo: string, trainable: boolean, seed: number) => ({
  name,
  model: buildZooModel(zoo, { input: [1, 28, 28], classes: 10, seed }),
  role: name === 'teacher' ? ('teacher' as const) : ('student' as const),
  trainable,
});
const N = 8;
const K = 10;
const spec = (over: Partial<StepSpec>): StepSpec => ({
  networks: [net('teacher', 'cnn-tiny', false, 3), net('student', 'cnn-tiny', true, 1)],
  terms: [
    { term: 'ce', name: 'ce', taps: { logits: 'student.logits' } },
    { term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' } },
  ],
  batch: N,
  optimizer: 'sgd',
  hyper,
  ...over,
});
const inputs = (bytes: Uint8Array) => ort.InferenceSession.create(bytes).then((s) => s.inputNames);

test('the labels input exists only when a term reads labels', async () => {
  const withCe = compileStep(spec({}));
  assert.deepEqual(withCe.labels, { from: 'input' });
  assert.ok((await inputs(withCe.bytes)).includes('labels'));
  const kdOnly = compileStep(
    spec({ terms: [{ term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' } }] }),
  );
  assert.deepEqual(kdOnly.labels, { from: 'none' });
  assert.ok(!(await inputs(kdOnly.bytes)).includes('labels'));
});

test("pseudo-labels: the CE term is cross-entropy against onehot(argmax of the teacher's logits)", async () => {
  const step = compileStep(spec({ pseudoLabels: 'teacher' }));
  assert.deepEqual(step.labels, { from: 'network', network: 'teacher' });
  assert.equal(step.terms[0]!.text, 'ce(student.logits ← argmax teacher.logits)');
  const s = await ort.InferenceSession.create(step.bytes);
  assert.ok(!s.inputNames.includes('labels'));
  const rng = new Rng(7);
  const feeds: Record<string, ort.Tensor> = {
    input: new ort.Tensor(
      'float32',
      Float32Array.from({ length: N * 28 * 28 }, () => rng.normal()),
      [N, 1, 28, 28],
    ),
    lr: new ort.Tensor('float32', Float32Array.of(0), []),
    w_ce: new ort.Tensor('float32', Float32Array.of(1), []),
    w_kd: new ort.Tensor('float32', Float32Array.of(1), []),
  };
  for (const [name, t] of Object.entries(step.initial))
    feeds[name] = new ort.Tensor('float32', t.data as Float32Array, t.dims as number[]);
  for (const slot of step.slots)
    feeds[slot.name] = new ort.Tensor('float32', new Float32Array(slot.shape.reduce((a, b) => a * b, 1)), slot.shape);
  const r = await s.run(feeds, ['term_ce', 'logits.student', 'logits.teacher']);
  const zs = r['logits.student']!.data as Float32Array;
  const zt = r['logits.teacher']!.data as Float32Array;
  const ce = (labels: number[]) =>
    labels.reduce((sum, y, i) => {
      const row = Array.from(zs.subarray(i * K, (i + 1) * K));
      const m = Math.max(...row);
      return sum + (m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[y]!);
    }, 0) / N;
  const argmax = Array.from({ length: N }, (_, i) => {
    const row = Array.from(zt.subarray(i * K, (i + 1) * K));
    return row.indexOf(Math.max(...row));
  });
  const got = Number((r.term_ce!.data as Float32Array)[0]);
  assert.ok(Math.abs(got - ce(argmax)) < 1e-4, `term_ce ${got} vs CE(student, argmax teacher) ${ce(argmax)}`);
  // Any other target gives another value, so the check above fails on a wrong target.
  const other = argmax.map((y) => (y + 1) % K);
  assert.ok(Math.abs(got - ce(other)) > 1e-3, `CE against other labels ${ce(other)} is as close`);
  await s.release();
});
