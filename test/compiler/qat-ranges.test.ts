// Tracked activation ranges of quantisation-aware training (src/compiler/fakeQuant.ts): a training step moves each
// range toward its batch's min and max by PyTorch's MovingAverageMinMaxObserver formula and quantises the batch at the
// moved range, with the exporter's own scale and zero point (activationParams) bit for bit; the evaluation graph reads
// the ranges as they stand and never moves them; held ranges are no state at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileInference } from '../../src/compiler/inference.js';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { compileStep } from '../../src/compiler/step.js';
import { activationParams } from '../../src/export/qdq.js';
import { addInput, Graph, Node, newModel, parseModel, serializeModel, Tensor, type Model } from '../../src/ir/index.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { randn } from '../autodiff/gradcheck.js';

const f = Math.fround;
const RANGE: [number, number] = [-1.5, 2.5];

// x[2,3,6,6] -> Conv -> Flatten: logits [2, 64]; the image itself is the fake-quantised activation.
function convNet(): Model {
  const rnd = randn(3);
  const g = new Graph('conv');
  const x = addInput(g, 'x', 'float32', [2, 3, 6, 6]);
  const w = g.addInitializer('w', Tensor.float32([4, 3, 3, 3], Array.from({ length: 108 }, rnd)));
  const conv = g.newValue('y', { dtype: 'float32', shape: [2, 4, 4, 4] });
  const out = g.newValue('logits', { dtype: 'float32', shape: [2, 64] });
  g.addNode(new Node('Conv', 'conv'), [x, w], [conv]);
  g.addNode(new Node('Flatten', 'flatten'), [conv], [out]);
  g.outputs.push(out);
  return newModel(g, 18);
}

const student = (averaging?: number): NetworkSpec => ({
  name: 'student',
  model: convNet(),
  role: 'student',
  trainable: true,
  fakeQuant: {
    weightBits: 7,
    activations: [{ name: 'x', range: RANGE }],
    shared: {},
    ...(averaging !== undefined ? { averaging } : {}),
  },
});

const hyper = { weightDecay: 0, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const tensor = (dims: number[], data: Float32Array): TensorData => ({ type: 'float32', dims, data });
const scalar = (v: number) => tensor([], Float32Array.of(v));

// The graph with the scale and zero point of the QuantizeLinear that reads the image as extra outputs.
function exposeImageQuantizer(bytes: Uint8Array, image: string): Uint8Array {
  const m = parseModel(bytes);
  const q = m.graph.nodes.find((n) => n.opType === 'QuantizeLinear' && n.input(0).name === image);
  assert.ok(q, 'the image is fake-quantised');
  m.graph.outputs.push(q.input(1), q.input(2));
  return serializeModel(m).onnx;
}

// Images whose batch min and max lie well outside the starting range, so that the range has somewhere to move.
function images(): Float32Array {
  const rnd = randn(7);
  return Float32Array.from({ length: 2 * 3 * 36 }, () => 3 * rnd());
}

test('a QAT step moves each tracked range toward its batch min/max by the moving average and quantises at the moved range', async () => {
  const step = compileStep({
    networks: [student(0.01)],
    terms: [{ term: 'ce', name: 'ce', taps: { logits: 'student.logits' } }],
    batch: 2,
    optimizer: 'sgd',
    hyper,
  });
  const [min, max] = ['student/x:qat_min', 'student/x:qat_max'];
  assert.deepEqual(
    step.buffers.map((b) => [b.name, b.source]),
    [
      [min, 'x:qat_min'],
      [max, 'x:qat_max'],
    ],
    'the ranges are state of the student',
  );
  assert.deepEqual([step.initial[min]!.toNumbers(), step.initial[max]!.toNumbers()], [[RANGE[0]], [RANGE[1]]]);
  assert.equal(step.carry[`${min}.updated`], min);
  assert.equal(step.carry[`${max}.updated`], max);
  const x = images();
  const labels = new Float32Array(2 * 64);
  labels[3] = labels[64 + 9] = 1;
  const feeds: Record<string, TensorData> = {
    input: tensor([2, 3, 6, 6], x),
    labels: tensor([2, 64], labels),
    lr: scalar(0.01),
    w_ce: scalar(1),
  };
  for (const [name, t] of Object.entries(step.initial))
    feeds[name] = tensor([...t.dims], Float32Array.from(t.data as Float32Array));
  for (const s of step.slots) feeds[s.name] = tensor(s.shape, new Float32Array(s.shape.reduce((a, b) => a * b, 1)));
  const rt = new Runtime({ threads: 1 });
  try {
    const s = await rt.session(exposeImageQuantizer(step.bytes, 'input'), 'qat step');
    const r = await s.run(feeds);
    // MovingAverageMinMaxObserver.forward in float32: min + c·(min(x) − min).
    let lo = Infinity,
      hi = -Infinity;
    for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const c = f(0.01);
    const ema = (old: number, batch: number) => f(f(old) + f(f(batch - f(old)) * c));
    const want = [ema(RANGE[0], lo), ema(RANGE[1], hi)];
    const got = [r[`${min}.updated`]!.data[0], r[`${max}.updated`]!.data[0]];
    assert.deepEqual(got, want);
    assert.ok(want[0]! < RANGE[0] && want[1]! > RANGE[1], 'the batch widened the range (not held)');
    // The batch is quantised at the moved range, with the exporter's parameters for it, bit for bit.
    const p = activationParams(want[0]!, want[1]!);
    const exposed = Object.keys(r).filter(
      (k) => !(k in step.carry) && !['loss', 'term_ce', 'logits.student'].includes(k),
    );
    assert.equal(exposed.length, 2, exposed.join(', '));
    assert.deepEqual(
      exposed.map((k) => r[k]!.data[0]),
      [f(p.scale), p.zeroPoint],
    );
  } finally {
    await rt.close();
  }
});

test('the evaluation graph quantises at the ranges it is given and moves none of them', async () => {
  const ev = compileInference([student(0.01)]);
  assert.ok(ev.stateNames.includes('student/x:qat_min') && ev.stateNames.includes('student/x:qat_max'));
  const outputs = parseModel(ev.bytes).graph.outputs.map((v) => v.name);
  assert.deepEqual(outputs, ['logits.student'], 'no range comes out of the evaluation graph');
  const rt = new Runtime({ threads: 1 });
  try {
    const s = await rt.session(exposeImageQuantizer(ev.bytes, 'input'), 'evaluation graph');
    const state: Record<string, TensorData> = {
      'student/w': tensor([4, 3, 3, 3], convNet().graph.initializers[0]!.constant!.data as Float32Array),
      'student/x:qat_min': scalar(-0.75),
      'student/x:qat_max': scalar(1.25),
    };
    const r = await s.run({ input: tensor([2, 3, 6, 6], images()), ...state });
    const exposed = Object.entries(r).filter(([k]) => k !== 'logits.student');
    assert.equal(exposed.length, 2);
    const p = activationParams(-0.75, 1.25);
    assert.deepEqual(
      exposed.map(([, t]) => t.data[0]),
      [f(p.scale), p.zeroPoint],
      "the state's range, not the batch's",
    );
  } finally {
    await rt.close();
  }
});

test('held ranges (no averaging constant) are constants of the step, not state', () => {
  const step = compileStep({
    networks: [student()],
    terms: [{ term: 'ce', name: 'ce', taps: { logits: 'student.logits' } }],
    batch: 2,
    optimizer: 'sgd',
    hyper,
  });
  assert.deepEqual(step.buffers, []);
  assert.ok(!Object.keys(step.carry).some((k) => k.includes('qat_')));
});
