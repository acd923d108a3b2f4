// Step-0 goldens of every method preset against PyTorch (fixture made by scripts/fixtures/method_steps.py): each term's
// value, the weighted total loss and every network's logits on fixed weights and batch, and for every method the
// weights, momentum buffers and BatchNorm running stats after one SGD step (method_updates.json for the six whose
// update is not in method_steps.json). Plus two structural checks: a DML peer's
// update never sees the gradient of the other peer's loss, and a frozen teacher is not in the state at all.
// CRD's golden (method_steps_crd.json) is written from HobbitLong/RepDistiller crd/criterion.py and crd/memory.py: its
// Embed heads, memory banks and normalisers are injected like any module's, its sampled indices are fed to the step's
// per-batch inputs (bin_crd.index, bin_crd.contrast) from the fixture, and the banks after the step are compared.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { termInputAt } from '../../src/compiler/terms/index.js';
import { compileStep, type CompiledStep } from '../../src/compiler/step.js';
import { loadModel } from '../../src/ir/model.js';
import { METHODS } from '../../src/methods/index.js';
import { stageTaps } from '../../src/pipeline/taps.js';
import { Runtime, type Session } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { oneHot } from '../../src/train/labels.js';
import type { RunTerm } from '../../src/methods/types.js';
import { weightAt } from '../../src/methods/weights.js';
import { assertClose } from '../helpers/close.js';

interface T {
  shape: number[];
  values: number[];
}
// A per-batch int64 input of a step: its values, or one byte per value in base64 (CRD's 8 × 16,385 indices).
interface IntT {
  shape: number[];
  values?: number[];
  uint8_base64?: string;
}
interface MethodRef {
  networks: Record<string, string>;
  // The training split's size the preset reads (MethodContext.trainSize: CRD's memory size).
  train_size?: number;
  // Values of the step's per-batch inputs (step.batchInputs), by input name.
  batch_inputs?: Record<string, IntT>;
  trainable: string[];
  terms: Record<string, { weight: number; value: number }>;
  loss: number;
  logits: Record<string, T>;
  modules?: Record<string, Record<string, T>>;
  // momentum_buffer left out (reviewkd's fusion modules, for the file's size): after one step from zero it is
  // (init − after) / lr, both PyTorch's.
  after?: Record<
    string,
    { params: Record<string, T>; momentum_buffer?: Record<string, T>; buffers: Record<string, T> }
  >;
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/method_steps.json', import.meta.url), 'utf8')) as {
  networks: Record<string, { file: string }>;
  x: T;
  y: { values: number[] };
  meta: { optimizer: { lr: number; momentum: number; weight_decay: number } };
  methods: Record<string, MethodRef>;
};
// Methods whose fixture is a sibling file (same networks and batch; reviewkd's fusion modules and CRD's memory are large).
for (const file of ['method_steps_review.json', 'method_steps_crd.json'])
  Object.assign(
    ref.methods,
    (
      JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as {
        methods: Record<string, MethodRef>;
      }
    ).methods,
  );
// One SGD step of the methods method_steps.json has none for (same script; a file of its own to stay small).
const updates = JSON.parse(readFileSync(new URL('../fixtures/method_updates.json', import.meta.url), 'utf8')) as {
  after: Record<string, NonNullable<MethodRef['after']>>;
};
const N = 8,
  CLASSES = 10;
const rt = new Runtime({ threads: 1 });
after(() => rt.close());

// The worst comparison of the running test (its ratio to the tolerance), printed as a diagnostic.
let worstSeen = { ratio: 0, name: '' };

// The shared check, also recording the worst comparison of the running test.
function close(name: string, got: ArrayLike<number>, want: number[], atol = 2e-5, rtol = 1e-3): void {
  const w = assertClose(name, got, want, atol, rtol);
  if (w.ratio > worstSeen.ratio)
    worstSeen = { ratio: w.ratio, name: `${name}[${w.at}] |Δ| ${Math.abs(got[w.at]! - want[w.at]!).toExponential(2)}` };
}

const scalar = (v: number): TensorData => ({ type: 'float32', dims: [], data: Float32Array.of(v) });
const zeros = (shape: number[]): TensorData => ({
  type: 'float32',
  dims: shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

// The networks, terms and compiled step of one method, assembled as src/pipeline/distill.ts does.
function build(method: string): { step: CompiledStep; terms: RunTerm[]; r: MethodRef } {
  const r = ref.methods[method]!;
  const def = METHODS.get(method)!;
  const networks: NetworkSpec[] = Object.entries(r.networks).map(([name, file]) => ({
    name,
    model: loadModel(new URL(`../fixtures/${ref.networks[file]!.file}`, import.meta.url).pathname),
    role: name === 'teacher' ? 'teacher' : 'student',
    trainable: name === 'teacher' ? def.teacher === 'trainable' : true,
  }));
  // Networks the method adds (SOKD's KBM, grafted at the default tap); their weights come from PyTorch (r.modules).
  if (def.networks)
    networks.push(...def.networks({ teacher: networks[0]!.model, teacherName: 'teacher', seed: 0 }).networks);
  assert.deepEqual(
    networks.filter((n) => n.trainable).map((n) => n.name),
    r.trainable,
    `${method}: trainable networks`,
  );
  const students = networks.filter((n) => n.role === 'student').map((n) => n.name);
  const teacher = networks.some((n) => n.name === 'teacher') ? 'teacher' : undefined;
  const terms = def.terms({
    teacher,
    students,
    stages: stageTaps(networks),
    ...(r.train_size !== undefined ? { trainSize: r.train_size } : {}),
  });
  assert.deepEqual(
    terms.map((t) => t.name),
    Object.keys(r.terms),
    `${method}: term names`,
  );
  const o = ref.meta.optimizer;
  const step = compileStep({
    networks,
    terms,
    batch: N,
    optimizer: 'sgd',
    seed: 0,
    hyper: { weightDecay: o.weight_decay, momentum: o.momentum, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  return { step, terms, r };
}

// Compiled weights and running stats, auxiliary modules (the FitNets regressor, the KBM) replaced by PyTorch's, slots zero.
function startState(step: CompiledStep, r: MethodRef): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers]) {
    const injected = r.modules?.[e.network]?.[e.source];
    const values = injected ? injected.values : (step.initial[e.name]!.data as Float32Array);
    if (injected) assert.deepEqual(injected.shape, e.shape, `${e.name}: injected shape`);
    out[e.name] = { type: 'float32', dims: e.shape, data: Float32Array.from(values) };
  }
  for (const s of step.slots) out[s.name] = zeros(s.shape);
  return out;
}

// A fixture's int64 tensor as a step feed.
function int64(t: IntT): TensorData {
  const values = t.uint8_base64 !== undefined ? Buffer.from(t.uint8_base64, 'base64') : t.values!;
  assert.equal(
    values.length,
    t.shape.reduce((a, b) => a * b, 1),
    'int64 fixture size',
  );
  return { type: 'int64', dims: t.shape, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

// The feeds of one step at epoch 0: the batch, the labels, lr and each term's weight as the host computes it, and the
// terms' per-batch inputs (CRD's indices) from the fixture.
function feeds(step: CompiledStep, weights: Record<string, number>, r?: MethodRef): Record<string, TensorData> {
  const f: Record<string, TensorData> = {
    [step.inputName]: { type: 'float32', dims: ref.x.shape, data: Float32Array.from(ref.x.values) },
    labels: { type: 'float32', dims: [N, CLASSES], data: oneHot(Int32Array.from(ref.y.values), N, CLASSES) },
    lr: scalar(ref.meta.optimizer.lr),
  };
  for (const [name, w] of Object.entries(weights)) f[`w_${name}`] = scalar(w);
  // Terms' scheduled inputs at epoch 0 (CTKD's reversal weight λ), as the host feeds them.
  for (const e of step.termInputs) f[e.input] = scalar(termInputAt(e, 0));
  for (const e of step.batchInputs) {
    const given = r?.batch_inputs?.[e.input];
    assert.ok(given, `${e.input}: the step reads it but the fixture has no values for it`);
    f[e.input] = int64(given);
  }
  return f;
}

function epoch0Weights(terms: RunTerm[]): Record<string, number> {
  return Object.fromEntries(terms.map((t) => [t.name, weightAt(t.weight, t.schedule, 0)]));
}

async function runStep(
  session: Session,
  step: CompiledStep,
  state: Record<string, TensorData>,
  weights: Record<string, number>,
  r?: MethodRef,
) {
  await rt.clearState();
  await rt.setState(state);
  const fetch = ['loss', ...Object.keys(weights).map((n) => `term_${n}`), ...Object.values(step.logits)];
  const out = await session.run(feeds(step, weights, r), fetch, step.carry);
  const names = [...step.params, ...step.buffers, ...step.slots].map((e) => e.name);
  return { out, state: await rt.getState(names) };
}

const data = (t: TensorData | undefined) => t!.data as Float32Array;

test('every method preset has a PyTorch golden', () => {
  // Staged methods (mgd) are checked stage by stage in staged-golden.test.ts.
  assert.deepEqual(
    [...METHODS.values()]
      .filter((m) => !m.stages)
      .map((m) => m.name)
      .sort(),
    Object.keys(ref.methods).sort(),
  );
});

for (const method of Object.keys(ref.methods)) {
  test(`${method}: step-0 terms, loss and logits match PyTorch, and one SGD step`, async (t) => {
    worstSeen = { ratio: 0, name: '' };
    const { step, terms, r } = build(method);
    const weights = epoch0Weights(terms);
    for (const [name, w] of Object.entries(weights))
      assert.ok(
        Math.abs(w - r.terms[name]!.weight) < 1e-12,
        `${method}: w_${name} is ${w}, PyTorch used ${r.terms[name]!.weight}`,
      );
    const session = await rt.session(step.bytes, `${method} step`);
    try {
      const { out, state } = await runStep(session, step, startState(step, r), weights, r);
      // A term is compared at rtol 1e-3 and at the absolute tolerance its weighted contribution gets (atol / w), so a
      // small term under a large weight (PKT's 30000) is held to what it adds to the loss, not waved through by 2e-5.
      for (const [name, { weight, value }] of Object.entries(r.terms))
        close(
          `${method} term_${name}`,
          data(out[`term_${name}`]),
          [value],
          weight > 0 ? Math.min(2e-5, 2e-5 / weight) : 2e-5,
        );
      close(`${method} loss`, data(out.loss), [r.loss]);
      for (const [net, want] of Object.entries(r.logits))
        close(`${method} logits.${net}`, data(out[step.logits[net]!]), want.values);
      const after = r.after ?? updates.after[method];
      assert.ok(
        after,
        `${method}: no PyTorch update in method_steps.json or method_updates.json (run scripts/fixtures/method_steps.py)`,
      );
      let compared = 0;
      for (const e of step.params) {
        const want = after[e.network]!;
        assert.ok(want, `${method}: PyTorch has no update for network '${e.network}'`);
        close(`${method} ${e.name}`, data(state[e.name]), want.params[e.source]!.values);
        compared++;
      }
      for (const s of step.slots) {
        const a = after[s.network]!;
        const want =
          a.momentum_buffer?.[s.source]?.values ??
          r.modules![s.network]![s.source]!.values.map(
            (v, i) => (v - a.params[s.source]!.values[i]!) / ref.meta.optimizer.lr,
          );
        close(`${method} ${s.name}`, data(state[s.name]), want);
      }
      for (const e of step.buffers) {
        close(`${method} ${e.name}`, data(state[e.name]), after[e.network]!.buffers[e.source]!.values);
        compared++;
      }
      const expected = Object.values(after).reduce(
        (n, a) => n + Object.keys(a.params).length + Object.keys(a.buffers).length,
        0,
      );
      assert.equal(compared, expected, `${method}: every trainable tensor of PyTorch has a state entry`);
    } finally {
      t.diagnostic(`worst: ${worstSeen.ratio.toFixed(3)} of the tolerance at ${worstSeen.name}`);
      await session.release();
    }
  });
}

test("dml: a peer's update sees only its own loss (the other peer's terms change nothing in it)", async () => {
  const { step, terms, r } = build('dml');
  const session = await rt.session(step.bytes, 'dml step');
  try {
    const w = epoch0Weights(terms);
    const base = await runStep(session, step, startState(step, r), w);
    // student2's own terms reweighted: kl.student2<-student1 reads student1 only as a stop-gradient target, so without
    // the mark its gradient would reach student1 and change student1's update with this weight.
    const other = await runStep(session, step, startState(step, r), {
      ...w,
      'ce.student2': 3,
      'kl.student2<-student1': 7,
    });
    const mine = [...step.params, ...step.slots, ...step.buffers].filter((e) => e.network === 'student1');
    const theirs = step.params.filter((e) => e.network === 'student2');
    assert.ok(mine.length > 0 && theirs.length > 0);
    for (const e of mine)
      assert.deepEqual(
        data(other.state[e.name]),
        data(base.state[e.name]),
        `${e.name} changed with student2's term weights`,
      );
    // and the reweighting is real: student2's update does move.
    assert.ok(
      theirs.some((e) => data(other.state[e.name]).some((v, i) => v !== data(base.state[e.name])[i])),
      "student2's update ignored its term weights",
    );
  } finally {
    await session.release();
  }
});

test('kd: the frozen teacher is not in the state and its logits repeat bit for bit on the next step', async () => {
  const { step, terms, r } = build('kd');
  assert.deepEqual(
    [...step.params, ...step.buffers, ...step.slots].filter((e) => e.network === 'teacher'),
    [],
    'teacher tensors in the state',
  );
  const session = await rt.session(step.bytes, 'kd step');
  try {
    const w = epoch0Weights(terms);
    await rt.clearState();
    await rt.setState(startState(step, r));
    const first = await session.run(feeds(step, w), [step.logits.teacher!, step.logits.student!], step.carry);
    const second = await session.run(feeds(step, w), [step.logits.teacher!, step.logits.student!], step.carry);
    assert.deepEqual(
      data(second[step.logits.teacher!]),
      data(first[step.logits.teacher!]),
      'teacher logits changed between steps',
    );
    // the student did train in between, so the repeat is not a step that did nothing.
    assert.notDeepEqual(data(second[step.logits.student!]), data(first[step.logits.student!]));
  } finally {
    await session.release();
  }
});
