// Step-0 goldens of the staged methods' final stage against PyTorch (scripts/fixtures/method_steps.py, `staged`):
// MGD stage 2 on KD, MAG and MAS, with the teacher heads built from PyTorch's weights and the student encoders injected;
// IFM stage 3, the student's flow against a frozen proxy of twice its width.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { compileStep } from '../../src/compiler/step.js';
import { loadModel } from '../../src/ir/model.js';
import { METHODS } from '../../src/methods/index.js';
import { GRANULARITIES } from '../../src/methods/mgd.js';
import { granularityHead } from '../../src/models/heads.js';
import { stageTaps } from '../../src/pipeline/taps.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { oneHot } from '../../src/train/labels.js';
import type { RunTerm } from '../../src/methods/types.js';
import { assertClose } from '../helpers/close.js';

interface T {
  shape: number[];
  values: number[];
}
interface StagedRef {
  terms: Record<string, { weight: number; value: number }>;
  loss: number;
  logits: Record<string, T>;
  heads: Record<string, Record<string, T>>;
  modules: Record<string, Record<string, T>>;
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/method_steps.json', import.meta.url), 'utf8')) as {
  networks: Record<string, { file: string }>;
  x: T;
  y: { values: number[] };
  staged: Record<string, StagedRef>;
};
const N = 8,
  CLASSES = 10;
const rt = new Runtime({ threads: 1 });
after(() => rt.close());
const fixture = (name: string) =>
  loadModel(new URL(`../fixtures/${ref.networks[name]!.file}`, import.meta.url).pathname);
const scalar = (v: number): TensorData => ({ type: 'float32', dims: [], data: Float32Array.of(v) });

const close = (name: string, got: ArrayLike<number>, want: number[], atol?: number, rtol?: number): number =>
  assertClose(name, got, want, atol, rtol).abs;

// Compile the stage's step, inject `r.modules` into its state, run step 0 on the fixture batch and compare every term,
// the loss and the logits with PyTorch; returns the largest absolute difference.
async function stepZero(
  r: StagedRef,
  networks: NetworkSpec[],
  terms: RunTerm[],
  injectedParams: number,
): Promise<number> {
  const step = compileStep({
    networks,
    terms,
    batch: N,
    optimizer: 'sgd',
    seed: 0,
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  const state: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers]) {
    const injected = r.modules[e.network]?.[e.source];
    state[e.name] = {
      type: 'float32',
      dims: e.shape,
      data: Float32Array.from(injected ? injected.values : (step.initial[e.name]!.data as Float32Array)),
    };
  }
  assert.equal(step.params.filter((e) => r.modules[e.network]).length, injectedParams, 'injected module parameters');
  for (const s of step.slots)
    state[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
  await rt.clearState();
  await rt.setState(state);
  const session = await rt.session(step.bytes);
  try {
    const feeds: Record<string, TensorData> = {
      [step.inputName]: { type: 'float32', dims: ref.x.shape, data: Float32Array.from(ref.x.values) },
      labels: { type: 'float32', dims: [N, CLASSES], data: oneHot(Int32Array.from(ref.y.values), N, CLASSES) },
      lr: scalar(0.1),
      ...Object.fromEntries(terms.map((x) => [`w_${x.name}`, scalar(x.weight)])),
    };
    for (const x of terms) assert.equal(x.weight, r.terms[x.name]!.weight, `w_${x.name}`);
    const out = await session.run(
      feeds,
      ['loss', ...terms.map((x) => `term_${x.name}`), ...Object.values(step.logits)],
      step.carry,
    );
    let worst = 0;
    for (const [name, { value }] of Object.entries(r.terms))
      worst = Math.max(worst, close(`term_${name}`, out[`term_${name}`]!.data as Float32Array, [value]));
    worst = Math.max(worst, close('loss', out.loss!.data as Float32Array, [r.loss]));
    for (const [net, want] of Object.entries(r.logits))
      worst = Math.max(worst, close(`logits.${net}`, out[step.logits[net]!]!.data as Float32Array, want.values));
    return worst;
  } finally {
    await session.release();
  }
}

for (const variant of ['mag', 'mas'] as const) {
  test(`mgd+kd (${variant}) stage 2: step-0 terms, loss and logits match PyTorch`, async (t) => {
    const r = ref.staged[`mgd+kd/${variant}`]!;
    const teacher = fixture('teacher');
    const students = [{ name: 'student', model: fixture('student_w4'), role: 'student' as const, trainable: true }];
    const plan = METHODS.get('mgd')!.stages!({
      teacher,
      students,
      base: [METHODS.get('kd')!],
      seed: 0,
      mgdVariant: variant,
    })[1]!;
    const heads = Object.fromEntries(
      GRANULARITIES.map((g) => [
        g.name,
        granularityHead({
          inDim: 16,
          codeDim: g.dim,
          classes: CLASSES,
          seed: 0,
          weights: Object.fromEntries(
            Object.entries(r.heads[g.name]!).map(([k, v]) => [k, Float32Array.from(v.values)]),
          ),
        }),
      ]),
    );
    const networks = plan.networks(heads);
    const terms = plan.terms({ teacher: 'teacher', students: ['student'], stages: stageTaps(networks) });
    assert.deepEqual(
      terms.map((x) => x.name),
      Object.keys(r.terms),
    );
    t.diagnostic(`max |Δ| ${(await stepZero(r, networks, terms, 8)).toExponential(2)}`);
  });
}

test('ifm stage 3: step-0 flow terms (f1, f2 at 100·0.7⁰, embedding at 1), CE, loss and logits match PyTorch', async (t) => {
  const r = ref.staged['ifm/student']!;
  const student = { name: 'student', model: fixture('student_w4'), role: 'student' as const, trainable: true };
  // SmallResNet is no zoo model: the width-8 network stands in as the proxy, as --proxy would give it.
  const proxy = fixture('student_w8');
  const plan = METHODS.get('ifm')!.stages!({
    teacher: fixture('teacher'),
    students: [student],
    base: [],
    seed: 0,
    proxy: { model: proxy, key: 'fixture' },
  })[2]!;
  const networks = plan.networks({ proxy });
  const terms = plan.terms({ teacher: undefined, students: ['student'], stages: stageTaps(networks) });
  assert.deepEqual(
    terms.map((x) => x.name),
    Object.keys(r.terms),
  );
  assert.deepEqual(
    terms.filter((x) => x.schedule).map((x) => x.schedule),
    [
      { kind: 'exp', gamma: 0.7 },
      { kind: 'exp', gamma: 0.7 },
    ],
  );
  t.diagnostic(`max |Δ| ${(await stepZero(r, networks, terms, 0)).toExponential(2)}`);
});
