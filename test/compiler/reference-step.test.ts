// Whole training steps of a small residual CNN against PyTorch 1.13 on the same weights and batch
// (fixture made by scripts/make_fixtures.py): loss, logits, every gradient, updated weights and BN running stats.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { loadModel } from '../../src/ir/model.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { oneHot } from '../../src/train/labels.js';
import { assertClose } from '../helpers/close.js';

interface T {
  shape: number[];
  values: number[];
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/small_resnet_step.json', import.meta.url), 'utf8')) as {
  initial: Record<string, T>;
  x: T;
  y: T;
  sgd: {
    steps: {
      loss: number;
      logits: T;
      grads: Record<string, T>;
      params_after: Record<string, T>;
      buffers_after: Record<string, T>;
    }[];
  };
  'label_smoothing_0.1': { step1_loss: number };
  adam: { losses: number[]; params_after_2_steps: Record<string, T> };
  adamw: { losses: number[]; params_after_2_steps: Record<string, T> };
  sgd_nesterov: { losses: number[]; params_after_2_steps: Record<string, T> };
};
const fixture = (f: string) => new URL(`../fixtures/${f}`, import.meta.url).pathname;
const rt = new Runtime({ threads: 1 });
after(() => rt.close());

const close = (name: string, got: ArrayLike<number>, want: number[], atol?: number, rtol?: number): void => {
  assertClose(name, got, want, atol, rtol);
};

type Opt = { optimizer: string; lr: number; wd: number; momentum?: number; nesterov?: boolean; smoothing?: number };
async function run(file: string, o: Opt, steps: number) {
  const model = loadModel(fixture(file));
  const step = compileTrainStep({
    model,
    batch: 8,
    terms: [{ term: 'ce', options: { smoothing: o.smoothing ?? 0 } }],
    optimizer: o.optimizer,
    exposeGradients: true,
    hyper: {
      weightDecay: o.wd,
      momentum: o.momentum ?? 0,
      nesterov: o.nesterov ?? false,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    },
  });
  await rt.clearState();
  const init: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers])
    init[e.name] = { type: 'float32', dims: e.shape, data: Float32Array.from(ref.initial[e.source]!.values) };
  for (const s of step.slots)
    init[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
  await rt.setState(init);
  const session = await rt.session(step.bytes, 'reference step');
  const y = Int32Array.from(ref.y.values);
  const results = [];
  for (let t = 1; t <= steps; t++) {
    const feeds: Record<string, TensorData> = {
      [step.inputName]: { type: 'float32', dims: [8, 1, 28, 28], data: Float32Array.from(ref.x.values) },
      labels: { type: 'float32', dims: [8, 10], data: oneHot(y, 8, 10) },
      lr: { type: 'float32', dims: [], data: Float32Array.of(o.lr) },
      w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
    };
    if (step.biasCorrection) {
      feeds.bc1 = { type: 'float32', dims: [], data: Float32Array.of(1 - 0.9 ** t) };
      feeds.bc2 = { type: 'float32', dims: [], data: Float32Array.of(1 - 0.999 ** t) };
    }
    const fetch = ['loss', 'logits.model', ...step.params.map((p) => `grad.${p.name}`)];
    const r = await session.run(feeds, fetch, step.carry);
    const state = await rt.getState([...step.params, ...step.buffers].map((p) => p.name));
    results.push({ r, state });
  }
  await session.release();
  return { step, results };
}

test('training-mode PyTorch export: two SGD steps match PyTorch (loss, logits, gradients, weights, running stats)', async () => {
  const { step, results } = await run(
    'small_resnet_train.onnx',
    { optimizer: 'sgd', lr: 0.1, wd: 5e-4, momentum: 0.9 },
    2,
  );
  assert.equal(step.params.length, 20);
  assert.equal(step.buffers.length, 12);
  results.forEach(({ r, state }, i) => {
    const want = ref.sgd.steps[i]!;
    close(`step ${i + 1} loss`, r.loss!.data as Float32Array, [want.loss]);
    close(`step ${i + 1} logits`, r['logits.model']!.data as Float32Array, want.logits.values);
    for (const p of step.params)
      close(
        `step ${i + 1} grad ${p.name}`,
        r[`grad.${p.name}`]!.data as Float32Array,
        want.grads[p.source]!.values,
        1e-5,
      );
    for (const p of step.params)
      close(`step ${i + 1} ${p.name}`, state[p.name]!.data as Float32Array, want.params_after[p.source]!.values);
    for (const bf of step.buffers)
      close(`step ${i + 1} ${bf.name}`, state[bf.name]!.data as Float32Array, want.buffers_after[bf.source]!.values);
  });
});

test('eval-mode export (BatchNorm in inference form) trains identically after conversion', async () => {
  const { results } = await run('small_resnet_eval.onnx', { optimizer: 'sgd', lr: 0.1, wd: 5e-4, momentum: 0.9 }, 1);
  close('loss', results[0]!.r.loss!.data as Float32Array, [ref.sgd.steps[0]!.loss]);
});

test('label smoothing 0.1 matches torch.nn.CrossEntropyLoss(label_smoothing=0.1)', async () => {
  const { results } = await run('small_resnet_train.onnx', { optimizer: 'sgd', lr: 0.1, wd: 0, smoothing: 0.1 }, 1);
  close('loss', results[0]!.r.loss!.data as Float32Array, [ref['label_smoothing_0.1'].step1_loss]);
});

for (const [key, o] of [
  ['sgd_nesterov', { optimizer: 'sgd', lr: 0.1, wd: 5e-4, momentum: 0.9, nesterov: true }],
  ['adam', { optimizer: 'adam', lr: 1e-3, wd: 0 }],
  ['adamw', { optimizer: 'adamw', lr: 1e-3, wd: 1e-2 }],
] as const) {
  test(`${key}: weights after two steps match PyTorch`, async () => {
    const { step, results } = await run('small_resnet_train.onnx', o, 2);
    const want = ref[key];
    results.forEach(({ r }, i) => close(`${key} loss ${i + 1}`, r.loss!.data as Float32Array, [want.losses[i]!]));
    for (const p of step.params)
      close(
        `${key} ${p.name}`,
        results[1]!.state[p.name]!.data as Float32Array,
        want.params_after_2_steps[p.source]!.values,
      );
  });
}

test("parameter groups: 'norm-and-bias' exempts exactly BatchNorm scale/shift and biases from weight decay", async () => {
  const model = loadModel(fixture('small_resnet_train.onnx'));
  const hyper = { weightDecay: 0.5, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const step = compileTrainStep({
    model,
    batch: 8,
    terms: [{ term: 'ce' }],
    optimizer: 'sgd',
    hyper,
    noDecay: 'norm-and-bias',
    exposeGradients: true,
  });
  await rt.clearState();
  const init: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers])
    init[e.name] = { type: 'float32', dims: e.shape, data: Float32Array.from(ref.initial[e.source]!.values) };
  for (const e of step.slots)
    init[e.name] = { type: 'float32', dims: e.shape, data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)) };
  await rt.setState(init);
  const s = await rt.session(step.bytes);
  const r = await s.run(
    {
      [step.inputName]: { type: 'float32', dims: [8, 1, 28, 28], data: Float32Array.from(ref.x.values) },
      labels: { type: 'float32', dims: [8, 10], data: oneHot(Int32Array.from(ref.y.values), 8, 10) },
      lr: { type: 'float32', dims: [], data: Float32Array.of(0.1) },
      w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
    },
    step.params.map((p) => `grad.${p.name}`),
    step.carry,
  );
  const after = await rt.getState(step.params.map((p) => p.name));
  for (const p of step.params) {
    const exempt = /(^|\.)bn\d?\.|downsample\.1\.|fc\.bias/.test(p.source);
    const g = r[`grad.${p.name}`]!.data as Float32Array;
    const w0 = ref.initial[p.source]!.values;
    const want = w0.map((w, i) => w - 0.1 * (g[i]! + (exempt ? 0 : 0.5 * w)));
    close(`${p.name} (${exempt ? 'no decay' : 'decayed'})`, after[p.name]!.data as Float32Array, want, 1e-6, 1e-5);
  }
  await s.release();
});
