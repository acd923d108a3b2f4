import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { classifyInitializers } from '../../src/ir/params.js';
import { inferShapes, serializeModel, type Model } from '../../src/ir/index.js';
import { Runtime } from '../../src/runtime/session.js';
import { f32 } from '../../src/runtime/tensor.js';
import { UserError } from '../../src/util/errors.js';
import { buildZooModel, canonicalZooName, resolveModelSpec, TAPS_METADATA_KEY, ZOO } from '../../src/zoo/index.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

// Parameters (sum of p.numel() over model.parameters()) of RepDistiller's CIFAR models at 3×32×32, 100 classes:
// identical to test/fixtures/repdistiller_params.json, computed with PyTorch from the reference code.
const REPDISTILLER_PARAMS: Record<string, [string, number]> = {
  resnet8: ['resnet8', 83892],
  resnet14: ['resnet14', 181108],
  resnet20: ['resnet20', 278324],
  resnet32: ['resnet32', 472756],
  resnet44: ['resnet44', 667188],
  resnet56: ['resnet56', 861620],
  resnet110: ['resnet110', 1736564],
  resnet8x4: ['resnet8x4', 1233540],
  resnet32x4: ['resnet32x4', 7433860],
  'wrn-16-1': ['wrn_16_1', 180916],
  'wrn-16-2': ['wrn_16_2', 703284],
  'wrn-40-1': ['wrn_40_1', 569780],
  'wrn-40-2': ['wrn_40_2', 2255156],
  vgg8: ['vgg8_bn', 3965028],
  vgg11: ['vgg11_bn', 9277284],
  vgg13: ['vgg13_bn', 9462180],
  'mobile-half': ['MobileNetV2', 812836],
  shufflev1: ['ShuffleV1', 949258],
  shufflev2: ['ShuffleV2', 1355528],
};

function paramCount(m: Model): number {
  return classifyInitializers(m.graph).params.reduce((s, v) => s + v.constant!.size, 0);
}

test('every RepDistiller architecture has its exact PyTorch parameter count (3x32x32, 100 classes)', () => {
  const fixture = new URL('../fixtures/repdistiller_params.json', import.meta.url);
  const json = existsSync(fixture)
    ? (JSON.parse(readFileSync(fixture, 'utf8')) as {
        models: Record<string, Record<string, { params: number } | null>>;
      })
    : undefined;
  for (const [name, [refName, count]] of Object.entries(REPDISTILLER_PARAMS)) {
    const m = buildZooModel(name, { input: [3, 32, 32], classes: 100 });
    assert.equal(paramCount(m), count, name);
    if (json) assert.equal(json.models[refName]?.['3x32x32_100']?.params, count, `fixture ${refName}`);
    if (json)
      assert.equal(
        paramCount(buildZooModel(name, { input: [3, 32, 32], classes: 10 })),
        json.models[refName]?.['3x32x32_10']?.params,
        `${name} @10`,
      );
  }
});

test('tap shapes follow methods.md §1.1 and the reference is_feat lists', () => {
  const expect: Record<string, number[][]> = {
    resnet20: [
      [2, 16, 32, 32],
      [2, 16, 32, 32],
      [2, 32, 16, 16],
      [2, 64, 8, 8],
      [2, 64],
      [2, 64],
    ],
    resnet8x4: [
      [2, 32, 32, 32],
      [2, 64, 32, 32],
      [2, 128, 16, 16],
      [2, 256, 8, 8],
      [2, 256],
      [2, 256],
    ],
    'wrn-40-2': [
      [2, 16, 32, 32],
      [2, 32, 32, 32],
      [2, 64, 16, 16],
      [2, 128, 8, 8],
      [2, 128],
      [2, 128],
    ],
    vgg8: [
      [2, 64, 32, 32],
      [2, 128, 16, 16],
      [2, 256, 8, 8],
      [2, 512, 4, 4],
      [2, 512, 4, 4],
      [2, 512],
    ],
    'mobile-half': [
      [2, 16, 16, 16],
      [2, 12, 16, 16],
      [2, 16, 8, 8],
      [2, 48, 4, 4],
      [2, 160, 2, 2],
      [2, 1280],
    ],
    shufflev1: [
      [2, 24, 32, 32],
      [2, 240, 16, 16],
      [2, 480, 8, 8],
      [2, 960, 4, 4],
      [2, 960],
      [2, 960],
    ],
    shufflev2: [
      [2, 24, 32, 32],
      [2, 116, 16, 16],
      [2, 232, 8, 8],
      [2, 464, 4, 4],
      [2, 1024],
      [2, 1024],
    ],
  };
  for (const [name, shapes] of Object.entries(expect)) {
    const m = buildZooModel(name, { input: [3, 32, 32], classes: 100 });
    const taps = JSON.parse(m.metadata().get(TAPS_METADATA_KEY)!) as Record<string, string>;
    assert.deepEqual(Object.keys(taps), ['f0', 'f1', 'f2', 'f3', 'f4', 'embedding', 'logits']);
    inferShapes(m.graph, { inputShapes: { input: [2, 3, 32, 32] } });
    ['f0', 'f1', 'f2', 'f3', 'f4', 'embedding'].forEach((t, i) =>
      assert.deepEqual(m.graph.values.get(taps[t]!)!.shape, shapes[i], `${name} ${t}`),
    );
    assert.deepEqual(m.graph.values.get(taps.logits!)!.shape, [2, 100]);
  }
});

async function run(m: Model, input: number[], fetch: string[] = ['logits']) {
  const s = await rt.session(serializeModel(m).onnx);
  const x = f32(input);
  x.data.forEach((_, i) => {
    (x.data as Float32Array)[i] = Math.sin(i * 0.37);
  });
  const out = await s.run({ input: x }, fetch);
  await s.release();
  return out;
}

test('every zoo model runs in onnxruntime at 3x32x32/100 and 1x28x28/10 with a dynamic batch', async () => {
  for (const name of ZOO.keys()) {
    for (const [input, classes] of [
      [[3, 32, 32], 100],
      [[1, 28, 28], 10],
    ] as [[number, number, number], number][]) {
      const m = buildZooModel(name, { input, classes });
      assert.deepEqual(m.graph.inputs[0]!.type!.shape, ['N', ...input]);
      const out = await run(m, [2, ...input]);
      assert.deepEqual(out.logits!.dims, [2, classes], `${name} ${input.join('x')}`);
      assert.ok((out.logits!.data as Float32Array).every(Number.isFinite), name);
    }
  }
});

test('taps are real values onnxruntime can fetch', async () => {
  const m = buildZooModel('resnet8', { input: [1, 28, 28], classes: 10 });
  const names = ['f0', 'f1', 'f2', 'f3', 'f4', 'embedding'];
  m.graph.outputs.push(...names.map((n) => m.graph.values.get(n)!));
  const out = await run(m, [1, 1, 28, 28], [...names, 'logits']);
  assert.deepEqual(out.f3!.dims, [1, 64, 7, 7]);
  assert.deepEqual(out.embedding!.data, out.f4!.data);
});

test('weights repeat exactly for a seed and follow the reference initialisation', () => {
  const a = serializeModel(buildZooModel('resnet20', { input: [3, 32, 32], classes: 100, seed: 7 })).onnx;
  const b = serializeModel(buildZooModel('resnet20', { input: [3, 32, 32], classes: 100, seed: 7 })).onnx;
  const c = serializeModel(buildZooModel('resnet20', { input: [3, 32, 32], classes: 100, seed: 8 })).onnx;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const m = buildZooModel('resnet32x4', { input: [3, 32, 32], classes: 100 });
  const get = (n: string) => m.graph.values.get(n)!.constant!.data as Float32Array;
  const w = get('layer3.0.conv2.weight'); // [256, 256, 3, 3]: kaiming fan_out std = √(2 / (256·9))
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / (256 * 9)) - 1) < 0.01, `std ${std}`);
  assert.ok(get('layer1.0.bn1.weight').every((v) => v === 1) && get('layer1.0.bn1.running_var').every((v) => v === 1));
  assert.ok(get('fc.weight').every((v) => Math.abs(v) <= 1 / 16)); // default Linear: U(±1/√256)
  const vgg = buildZooModel('vgg8', { input: [3, 32, 32], classes: 100 });
  const fc = vgg.graph.values.get('classifier.weight')!.constant!.data as Float32Array;
  assert.ok(Math.abs(Math.sqrt(fc.reduce((s, v) => s + v * v, 0) / fc.length) - 0.01) < 0.0005);
});

test('model specs: zoo names (RepDistiller spellings too), paths, clear errors', () => {
  assert.equal(canonicalZooName('wrn_40_2'), 'wrn-40-2');
  assert.equal(canonicalZooName('vgg13_bn'), 'vgg13');
  assert.equal(canonicalZooName('ShuffleV1'), 'shufflev1');
  const m = resolveModelSpec('zoo:mobile_half', { input: [3, 32, 32], classes: 100 });
  assert.equal(paramCount(m), 812836);
  assert.throws(
    () => resolveModelSpec('zoo:resnet9', { input: [3, 32, 32], classes: 10 }),
    (e: unknown) => e instanceof UserError && /unknown zoo model 'resnet9'/.test(e.message),
  );
  assert.throws(() => resolveModelSpec('nope.onnx', { input: [3, 32, 32], classes: 10 }), UserError);
  assert.throws(() => resolveModelSpec('slim:0.5', { input: [3, 32, 32], classes: 10 }), /teacher/);
  assert.throws(() => resolveModelSpec('zoo:resnet8', { input: [3, 0, 32], classes: 10 }), UserError);
});
