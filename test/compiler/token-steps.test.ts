// Whole training steps of a ConvNeXt-style, a ViT-style, a Swin-style and a GroupNorm student against PyTorch 1.13 on the same
// weights and batch (scripts/fixtures/token_steps.py): loss, logits, every gradient, and every weight after plain SGD.
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
interface Step {
  parameters: number;
  loss: number;
  logits: T;
  grads: Record<string, T>;
  op_counts: Record<string, number>;
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/token_steps.json', import.meta.url), 'utf8')) as {
  x: T;
  y: T;
  meta: { lr: number };
  convnext: Step;
  vit: Step;
  groupnorm: Step;
  swin: Step;
};
const rt = new Runtime({ threads: 1 });
after(() => rt.close());

async function oneStep(name: 'convnext' | 'vit' | 'groupnorm' | 'swin'): Promise<void> {
  const want = ref[name];
  const model = loadModel(new URL(`../fixtures/${name}_train.onnx`, import.meta.url).pathname);
  const step = compileTrainStep({
    model,
    batch: 4,
    terms: [{ term: 'ce' }],
    optimizer: 'sgd',
    exposeGradients: true,
    hyper: { weightDecay: 0, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  assert.equal(
    step.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0),
    want.parameters,
  );
  const initial = new Map(model.graph.initializers.map((v) => [v.name, v.constant!.toNumbers()]));
  await rt.clearState();
  const init: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers])
    init[e.name] = { type: 'float32', dims: e.shape, data: Float32Array.from(initial.get(e.source)!) };
  for (const s of step.slots)
    init[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
  await rt.setState(init);
  const session = await rt.session(step.bytes, `${name} step`);
  const feeds: Record<string, TensorData> = {
    [step.inputName]: { type: 'float32', dims: ref.x.shape, data: Float32Array.from(ref.x.values) },
    labels: { type: 'float32', dims: [4, 10], data: oneHot(Int32Array.from(ref.y.values), 4, 10) },
    lr: { type: 'float32', dims: [], data: Float32Array.of(ref.meta.lr) },
    w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
  };
  const r = await session.run(feeds, ['loss', 'logits.model', ...step.params.map((p) => `grad.${p.name}`)], step.carry);
  const state = await rt.getState(step.params.map((p) => p.name));
  await session.release();
  assertClose(`${name} loss`, r.loss!.data as Float32Array, [want.loss]);
  assertClose(`${name} logits`, r['logits.model']!.data as Float32Array, want.logits.values);
  assert.deepEqual(step.params.map((p) => p.source).sort(), Object.keys(want.grads).sort());
  for (const p of step.params) {
    const g = want.grads[p.source]!.values;
    assertClose(`${name} grad ${p.source}`, r[`grad.${p.name}`]!.data as Float32Array, g, 1e-5);
    const w0 = initial.get(p.source)!;
    assertClose(
      `${name} ${p.source} after SGD`,
      state[p.name]!.data as Float32Array,
      w0.map((w, i) => Math.fround(w - ref.meta.lr * g[i]!)),
      1e-6,
      1e-5,
    );
  }
}

test('ConvNeXt-style student (LayerNorm channels-last and 2-D, 7x7 depthwise, exact GELU, layer scale): one SGD step matches PyTorch', async () => {
  assert.ok(ref.convnext.op_counts.LayerNormalization! > 0 && ref.convnext.op_counts.Erf! > 0);
  await oneStep('convnext');
});

test('ViT-style student (patch conv, class token, position embedding, 4-D attention, Softmax, Gather): one SGD step matches PyTorch', async () => {
  assert.ok(ref.vit.op_counts.Softmax! > 0 && ref.vit.op_counts.Expand! > 0 && ref.vit.op_counts.Dropout! > 0);
  await oneStep('vit');
});

test("GroupNorm student (torch's Reshape-InstanceNormalization-Reshape-Mul-Add export): one SGD step matches PyTorch", async () => {
  assert.ok(ref.groupnorm.op_counts.InstanceNormalization! > 0);
  await oneStep('groupnorm');
});

test('Swin-style student (shifted windows, padding computed with Mod, relative position bias gathered from a table): one SGD step matches PyTorch', async () => {
  assert.ok(ref.swin.op_counts.Mod! > 0 && ref.swin.op_counts.Gather! > 0 && ref.swin.op_counts.Pad! > 0);
  await oneStep('swin');
});
