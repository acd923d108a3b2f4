// Issue 20's logit terms in a run: --logit-standardize selects KL-based terms, CTKD's curriculum is a scheduled step
// input (λ fed per epoch, never recompiled), and the reversal layer in the compiled step flips and scales the
// temperature's gradient by exactly −λ while leaving the student's gradient alone.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TERMS, termByName, termInputAt } from '../../src/compiler/terms/index.js';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { compileStep } from '../../src/compiler/step.js';
import { loadModel } from '../../src/ir/model.js';
import { METHODS, mixTerms, parseMethods, standardizeTerms } from '../../src/methods/index.js';
import { stageTaps } from '../../src/pipeline/taps.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { oneHot } from '../../src/train/labels.js';
import { UserError } from '../../src/util/errors.js';

const ctx = { teacher: 'teacher', students: ['student1', 'student2'], stages: () => [] };

test('--logit-standardize: bare/all selects every KL-based term, keys select some, ce and other terms are untouched', () => {
  const terms = mixTerms(parseMethods('kd+dkd+dist+ctkd+dml'), ctx);
  const on = (ts: typeof terms) => ts.filter((t) => t.options?.standardize === 1).map((t) => t.name);
  const kl = [
    'kd.student1',
    'kd.student2',
    'dkd.student1',
    'dkd.student2',
    'ctkd.student1',
    'ctkd.student2',
    'kl.student1<-student2',
    'kl.student2<-student1',
  ];
  assert.deepEqual(on(standardizeTerms(terms, '')).sort(), kl.sort());
  assert.deepEqual(on(standardizeTerms(terms, 'all')).sort(), kl.sort());
  assert.deepEqual(on(standardizeTerms(terms, 'kd, kl.student2')), [
    'kd.student1',
    'kd.student2',
    'kl.student2<-student1',
  ]);
  // the other options of a term are kept (dkd's α, β, τ from the preset).
  assert.equal(standardizeTerms(terms, 'dkd').find((t) => t.name === 'dkd.student1')!.options!.beta, 8);
  for (const bad of ['ce', 'dist', 'nope']) {
    assert.throws(
      () => standardizeTerms(terms, bad),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`--logit-standardize: '${bad}'`),
    );
  }
  // a staged method's stage without the key is left alone instead of failing.
  assert.deepEqual(
    on(
      standardizeTerms(
        terms.filter((t) => t.term === 'ce'),
        'kd',
        false,
      ),
    ),
    [],
  );
});

test('every KL-based term has the standardize option and the terms without a KL do not', () => {
  const withOption = [...TERMS.values()]
    .filter((t) => 'standardize' in t.defaults)
    .map((t) => t.name)
    .sort();
  assert.deepEqual(withOption, ['ctkd', 'dkd', 'gkd', 'kd', 'kdavg', 'kl']);
});

test("ctkd's λ follows the reference CosineDecay(0, −1, 10): 0 → 1 over the first 10 epochs, then 1", () => {
  const lam = (e: number, loops = 10) => termInputAt({ term: 'ctkd', key: 'lambda', options: { loops } }, e);
  assert.ok(Math.abs(lam(0) - (1 - Math.cos(Math.PI / 10)) / 2) < 1e-15);
  assert.ok(Math.abs(lam(4) - 0.5) < 1e-12);
  assert.equal(lam(9), 1);
  assert.equal(lam(100), 1);
  for (let e = 1; e < 10; e++) assert.ok(lam(e) > lam(e - 1), `λ rises at epoch ${e}`);
  assert.ok(Math.abs(lam(0, 2) - 0.5) < 1e-12);
});

test('the new presets exist, mix with + and carry their papers', () => {
  for (const [name, paper] of [
    ['dist', '2205.10536'],
    ['ctkd', '2211.16231'],
    ['wsld', '2102.00650'],
    ['nkd', '2303.13005'],
  ] as const) {
    assert.ok(METHODS.get(name)?.paper?.includes(paper), name);
    assert.ok(termByName(name).paper?.includes(paper), name);
  }
  const names = mixTerms(parseMethods('kd+dist'), { ...ctx, students: ['student'] }).map(
    (t) => `${t.name}:${t.weight}`,
  );
  assert.deepEqual(names, ['ce:0.1', 'kd:0.9', 'dist:1']);
});

const rt = new Runtime({ threads: 1 });
after(() => rt.close());
const fixture = (f: string) => loadModel(new URL(`../fixtures/methods/${f}.onnx`, import.meta.url).pathname);
const scalar = (v: number): TensorData => ({ type: 'float32', dims: [], data: Float32Array.of(v) });

test('ctkd in the compiled step: λ is the input in_ctkd.lambda and the temperature gradient is −λ times the plain one', async () => {
  const networks: NetworkSpec[] = [
    { name: 'teacher', model: fixture('teacher'), role: 'teacher', trainable: false },
    { name: 'student', model: fixture('student_w4'), role: 'student', trainable: true },
  ];
  const terms = METHODS.get('ctkd')!.terms({ teacher: 'teacher', students: ['student'], stages: stageTaps(networks) });
  const step = compileStep({
    networks,
    terms,
    batch: 4,
    optimizer: 'sgd',
    exposeGradients: true,
    hyper: { weightDecay: 0, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  assert.deepEqual(
    step.termInputs.map((e) => e.input),
    ['in_ctkd.lambda'],
  );
  const g = step.params.find((p) => p.name === 'ctkd/temperature');
  assert.ok(g, `the temperature is a trained parameter: ${step.params.map((p) => p.name).join(', ')}`);
  assert.deepEqual(Array.from(step.initial[g.name]!.data as Float32Array), [1]);
  const session = await rt.session(step.bytes, 'ctkd step');
  const x = Float32Array.from({ length: 4 * 28 * 28 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
  const run = async (lambda: number) => {
    await rt.clearState();
    await rt.setState({
      ...Object.fromEntries(
        [...step.params, ...step.buffers].map((e) => [
          e.name,
          { type: 'float32', dims: e.shape, data: Float32Array.from(step.initial[e.name]!.data as Float32Array) },
        ]),
      ),
      ...Object.fromEntries(
        step.slots.map((s) => [
          s.name,
          { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, d) => a * d, 1)) },
        ]),
      ),
    });
    const feeds: Record<string, TensorData> = {
      [step.inputName]: { type: 'float32', dims: step.inputShape, data: x },
      labels: { type: 'float32', dims: [4, 10], data: oneHot(Int32Array.of(1, 4, 7, 2), 4, 10) },
      lr: scalar(0),
      w_ce: scalar(0.1),
      w_ctkd: scalar(0.9),
      'in_ctkd.lambda': scalar(lambda),
    };
    const out = await session.run(feeds, ['loss', `grad.${g.name}`, 'grad.student/fc.weight'], step.carry);
    return {
      loss: out.loss!.data[0] as number,
      dg: out[`grad.${g.name}`]!.data[0] as number,
      dw: Array.from(out['grad.student/fc.weight']!.data as Float32Array),
    };
  };
  try {
    const plain = await run(-1);
    const none = await run(0);
    const half = await run(0.5);
    assert.ok(Math.abs(plain.dg) > 1e-6, `the temperature has a gradient: ${plain.dg}`);
    assert.equal(Math.abs(none.dg), 0);
    assert.ok(Math.abs(half.dg + 0.5 * plain.dg) <= 1e-6 * Math.abs(plain.dg), `λ 0.5: ${half.dg} vs −0.5·${plain.dg}`);
    // the forward pass and the student's gradient do not depend on λ at all.
    assert.equal(half.loss, plain.loss);
    assert.deepEqual(half.dw, plain.dw);
  } finally {
    await session.release();
  }
});
