// Quantisation-aware training's fake quantisation (src/compiler/fakeQuant.ts): its forward is onnxruntime's own
// QuantizeLinear→DequantizeLinear at the int8 exporter's scales, a QAT step compiles and runs, and the int8 export of
// a QAT student computes what the fake-quantised student's evaluation graph computes (the scales are the trained ones).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileInference } from '../../src/compiler/inference.js';
import { compileStep } from '../../src/compiler/step.js';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { cleanInferenceGraph } from '../../src/export/fp32.js';
import { format as int8Format } from '../../src/export/formats/int8.js';
import { calibrateQat, fakeQuantSpec } from '../../src/export/qat.js';
import { activationParams, dequantizedConstant, insertQdq, quantizeWeights } from '../../src/export/qdq.js';
import { addInput, Graph, Node, newModel, parseModel, serializeModel, Tensor, type Model } from '../../src/ir/index.js';
import { META_QAT } from '../../src/ir/metadata.js';
import { openRunner } from '../../src/runtime/inference.js';
import { Runtime } from '../../src/runtime/session.js';
import { buildZooModel } from '../../src/zoo/index.js';
import { randn } from '../autodiff/gradcheck.js';

const quiet = { json: true, verbose: false, print: () => {}, log: () => {} };

// x[2,3,6,6] -> Conv(w, b) -> Flatten: the smallest network with a weight and an activation the exporter quantises.
function convNet(seed: number): Model {
  const rnd = randn(seed);
  const g = new Graph('conv');
  const x = addInput(g, 'x', 'float32', [2, 3, 6, 6]);
  const w = g.addInitializer('w', Tensor.float32([4, 3, 3, 3], Array.from({ length: 108 }, rnd)));
  const bias = g.addInitializer('b', Tensor.float32([4], [0.1, -0.2, 0.3, 0]));
  const conv = g.newValue('y', { dtype: 'float32', shape: [2, 4, 4, 4] });
  const out = g.newValue('logits', { dtype: 'float32', shape: [2, 64] });
  g.addNode(new Node('Conv', 'conv'), [x, w, bias], [conv]);
  g.addNode(new Node('Flatten', 'flatten'), [conv], [out]);
  g.outputs.push(out);
  return newModel(g, 18);
}

// Run an evaluation graph of network `student` on images, with its state from the model: the student's logits.
async function evalLogits(
  rt: Runtime,
  ev: { bytes: Uint8Array; stateNames: string[] },
  model: Model,
  dims: number[],
  x: Float32Array,
) {
  const s = await rt.session(ev.bytes, 'evaluation graph');
  const r = await s.run({ input: { type: 'float32', dims, data: x }, ...stateOf(model, ev.stateNames, 'student/') });
  return r['logits.student']!.data as Float32Array;
}

// The state a compiled graph reads, from the model's own initializers (state names are `<network>/<name>`).
function stateOf(model: Model, names: string[], prefix: string) {
  const init = new Map(model.graph.initializers.map((v) => [v.name, v.constant!]));
  return Object.fromEntries(
    names.map((n) => {
      const t = init.get(n.slice(prefix.length))!;
      return [n, { type: 'float32' as const, dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) }];
    }),
  );
}

test("fake quantisation's forward is onnxruntime's QuantizeLinear→DequantizeLinear at the exporter's scales", async () => {
  const model = convNet(3);
  const act = activationParams(-1.5, 2.5);
  const spec: NetworkSpec = {
    name: 'student',
    model,
    role: 'student',
    trainable: true,
    fakeQuant: { weightBits: 7, activations: [{ name: 'x', range: [-1.5, 2.5] }], shared: {} },
  };
  const ev = compileInference([spec]);
  // The reference: the exporter's own per-channel int8 weights and QDQ input, run by onnxruntime.
  const ref = parseModel(serializeModel(model).onnx);
  const g = ref.graph;
  const conv = g.nodes.find((n) => n.opType === 'Conv')!;
  const w = conv.input(1);
  const { q, scales } = quantizeWeights(w.constant!, 0, 7);
  g.setInput(conv, 1, dequantizedConstant(g, 'w', q, scales, 0));
  insertQdq(g, g.inputs[0]!, act);
  const rnd = randn(11);
  const xs = Float32Array.from({ length: 2 * 3 * 36 }, () => 1.2 * rnd());
  const rt = new Runtime({ threads: 1 });
  try {
    const s2 = await rt.session(serializeModel(ref).onnx, 'qdq reference');
    const a = await evalLogits(rt, ev, model, [2, 3, 6, 6], xs);
    const r = (await s2.run({ x: { type: 'float32', dims: [2, 3, 6, 6], data: xs } })).logits!.data as Float32Array;
    assert.equal(a.length, r.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - r[i]!));
    assert.ok(worst < 1e-5, `fake quantisation and onnxruntime's QDQ differ by ${worst}`);
    // And it is quantised: the fp32 network gives something else.
    const plain = compileInference([{ ...spec, fakeQuant: undefined } as NetworkSpec]);
    const f = await evalLogits(rt, plain, model, [2, 3, 6, 6], xs);
    assert.ok(
      f.some((v, i) => Math.abs(v - r[i]!) > 1e-3),
      'fake quantisation changes the outputs',
    );
  } finally {
    await rt.close();
  }
});

// Random images in batches, as calibration reads them.
function images(seed: number, batches: number, n: number, dims: number[]) {
  return async function* () {
    const rnd = randn(seed);
    for (let k = 0; k < batches; k++)
      yield { x: Float32Array.from({ length: n * dims.reduce((a, b) => a * b, 1) }, rnd), dims: [n, ...dims], n };
  };
}

// A depthwise student with BatchNorm statistics and scales away from their initial 0 / 1, so that folding them into
// the int8 export's weights is exercised.
function student(seed: number): Model {
  const m = buildZooModel('mobilenetv2', { input: [1, 28, 28], classes: 10, seed });
  const rnd = randn(seed + 100);
  for (const n of m.graph.nodes.filter((x) => x.opType === 'BatchNormalization')) {
    for (const [i, f] of [
      [1, (v: number) => v * (0.6 + 0.8 * Math.abs(rnd()))],
      [3, () => 0.2 * rnd()],
      [4, () => 0.5 + Math.abs(rnd())],
    ] as const) {
      const t = n.input(i).constant!;
      n.input(i).constant = Tensor.float32(
        t.dims,
        Array.from(t.data as Float32Array, (v) => f(v)),
      );
    }
  }
  return m;
}

async function calibrated(model: Model) {
  return calibrateQat(model, images(5, 2, 16, [1, 28, 28]), {
    calibrate: 'minmax',
    weightBits: 7,
    count: 32,
    open: (bytes) => openRunner('node', bytes, { threads: 1 }),
  });
}

test('a QAT step on a zoo depthwise student compiles, runs, and trains every fake-quantised weight', async () => {
  const model = student(1);
  const record = await calibrated(model);
  assert.ok(Object.keys(record.ranges).length >= 10, `activations calibrated: ${Object.keys(record.ranges).length}`);
  const hyper = { weightDecay: 0, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  const step = compileStep({
    networks: [
      {
        name: 'teacher',
        model: buildZooModel('cnn-tiny', { input: [1, 28, 28], classes: 10, seed: 2 }),
        role: 'teacher',
        trainable: false,
      },
      { name: 'student', model, role: 'student', trainable: true, fakeQuant: fakeQuantSpec(record) },
    ],
    terms: [{ term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' } }],
    batch: 4,
    optimizer: 'sgd',
    hyper,
    exposeGradients: true,
  });
  const onnx = parseModel(step.bytes);
  const quantize = onnx.graph.nodes.filter((n) => n.opType === 'QuantizeLinear');
  const convs = model.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').length;
  assert.ok(
    quantize.length >= convs + 10,
    `${quantize.length} QuantizeLinear for ${convs} weights and the activations`,
  );
  assert.ok(!onnx.graph.nodes.some((n) => n.domain !== ''), 'no pseudo-op is left in the step');
  const rt = new Runtime({ threads: 1 });
  try {
    const s = await rt.session(step.bytes, 'qat step');
    const rnd = randn(9);
    const feeds: Record<string, { type: 'float32'; dims: number[]; data: Float32Array }> = {
      input: { type: 'float32', dims: [4, 1, 28, 28], data: Float32Array.from({ length: 4 * 784 }, rnd) },
      lr: { type: 'float32', dims: [], data: Float32Array.of(0.01) },
      w_kd: { type: 'float32', dims: [], data: Float32Array.of(1) },
    };
    for (const [name, t] of Object.entries(step.initial))
      feeds[name] = { type: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) };
    for (const slot of step.slots)
      feeds[slot.name] = {
        type: 'float32',
        dims: slot.shape,
        data: new Float32Array(slot.shape.reduce((a, b) => a * b, 1)),
      };
    const r = await s.run(feeds);
    assert.ok(Number.isFinite(r.loss!.data[0] as number) && (r.loss!.data[0] as number) > 0);
    const weights = step.params.filter((p) => p.shape.length >= 2);
    for (const p of weights) {
      const g = r[`grad.${p.name}`]!.data as Float32Array;
      assert.ok(g.some((v) => v !== 0) && g.every(Number.isFinite), `${p.name} gets a finite, non-zero gradient`);
    }
  } finally {
    await rt.close();
  }
});

test("the int8 export of a QAT student computes its fake-quantised evaluation graph's outputs (to one step)", async () => {
  const model = student(4);
  const record = await calibrated(model);
  const spec: NetworkSpec = {
    name: 'student',
    model,
    role: 'student',
    trainable: true,
    fakeQuant: fakeQuantSpec(record),
  };
  const ev = compileInference([spec]);
  const tagged = parseModel(serializeModel(model).onnx);
  tagged.setMetadata(META_QAT, JSON.stringify(record));
  const { model: clean } = cleanInferenceGraph(tagged);
  // The classifier's input: one quantisation step of it moves each logit by at most step · Σ|W_c|.
  const gemm = clean.graph.nodes.filter((n) => n.opType === 'Gemm').at(-1)!;
  const feed = gemm.input(0).name;
  const params = activationParams(...(record.ranges[feed] ?? record.ranges[record.shared[feed]!]!));
  const w = gemm.input(1).constant!;
  const { q, scales } = quantizeWeights(w, gemm.attrInt('transB', 0) ? 0 : 1, 7);
  const [rows, cols] = w.dims as [number, number];
  let bound = 0;
  for (let c = 0; c < rows; c++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += Math.abs((q.data as Int8Array)[c * cols + k]!) * scales[c]!;
    bound = Math.max(bound, s * params.scale);
  }
  const { model: int8, calibration } = await int8Format.convert(clean, {
    options: {},
    data: undefined as never,
    info: undefined as never,
    path: 'qat-student.onnx',
    ctx: quiet,
  });
  assert.match(JSON.stringify(calibration), /held through QAT/); // a record without `averaging`
  const rnd = randn(21);
  const xs = Float32Array.from({ length: 16 * 784 }, rnd);
  const rt = new Runtime({ threads: 1 });
  try {
    const za = await evalLogits(rt, ev, model, [16, 1, 28, 28], xs);
    const b = await rt.session(serializeModel(int8).onnx, 'int8 export');
    const batch = { type: 'float32' as const, dims: [16, 1, 28, 28], data: xs };
    const zb = Object.values(await b.run({ [clean.graph.inputs[0]!.name]: batch }))[0]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < za.length; i++) worst = Math.max(worst, Math.abs(za[i]! - zb[i]!));
    assert.ok(
      worst <= bound,
      `export and fake-quantised student differ by ${worst} > one step at the classifier (${bound})`,
    );
    // Not trivially: a PTQ export calibrated anew on other images gives other scales and other outputs.
    const zf = compileInference([{ ...spec, fakeQuant: undefined } as NetworkSpec]);
    const zfp = await evalLogits(rt, zf, model, [16, 1, 28, 28], xs);
    let off = 0;
    for (let i = 0; i < za.length; i++) off = Math.max(off, Math.abs(za[i]! - zfp[i]!));
    assert.ok(
      off > worst,
      `the fp32 student is further from the int8 export (${off}) than the fake-quantised one (${worst})`,
    );
  } finally {
    await rt.close();
  }
});
