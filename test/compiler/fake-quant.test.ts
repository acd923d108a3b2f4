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
    fakeQuant: { weightBits: 7, activations: [{ name: 'x', ...act }] },
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
    const s1 = await rt.session(ev.bytes, 'fake-quant eval');
    const s2 = await rt.session(serializeModel(ref).onnx, 'qdq reference');
    const a = (await s1.run({ input: { type: 'float32', dims: [2, 3, 6, 6], data: xs }, ...stateOf(model, ev.stateNames, 'student/') }))['logits.student']!.data as Float32Array;
    const r = (await s2.run({ x: { type: 'float32', dims: [2, 3, 6, 6], data: xs } })).logits!.data as Float32Array;
    assert.equal(a.length, r.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - r[i]!));
    assert.ok(worst < 1e-5, `fake quantisation and onnxruntime's QDQ differ by ${worst}`);
    // And it is quantised: the fp32 network gives something else.
    const plain = compileInference([{ ...spec, fakeQuant: undefined } as NetworkSpec]);
    const s3 = await rt.session(plain.bytes, 'fp32');
    const f = (await s3.run({ input: { type: 'float32', dims: [2, 3, 6, 6], data: xs }, ...stateOf(model, plain.stateNames, 'student/') }))['logits.student']!.data as Float32Array;
    assert.ok(f.some((v, i) => Math.abs(v - r[i]!) > 1e-3), 'fake quantisation changes the outputs');
  } finally {
    await rt.close();
  }
});
