import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { classifyInitializers } from '../../src/ir/params.js';
import { addInput, newGraph, newModel, serializeModel, Tensor, type Model } from '../../src/ir/index.js';
import { loadModel } from '../../src/ir/model.js';
import { slimModel, slimWithReport } from '../../src/models/slim.js';
import { Runtime } from '../../src/runtime/session.js';
import { f32 } from '../../src/runtime/tensor.js';
import { UserError } from '../../src/util/errors.js';
import { buildZooModel, TAPS_METADATA_KEY } from '../../src/zoo/index.js';
import { deriveStudent } from '../../src/models/student.js';

const rt = new Runtime({ threads: 2 });
after(() => rt.close());

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const params = (m: Model) => classifyInitializers(m.graph).params.reduce((s, v) => s + v.constant!.size, 0);

// A fixture with its input declared at 64×64 (the torchvision nets end in GlobalAveragePool, so any size works).
function loadAt64(name: string): Model {
  const m = loadModel(fixture(name));
  m.graph.inputs[0]!.type = { dtype: 'float32', shape: ['batch', 3, 64, 64] };
  return m;
}

async function run(m: Model, shape: number[], fetch?: string[]): Promise<Record<string, Float32Array>> {
  const outs = m.graph.outputs;
  m.graph.outputs = [
    ...outs,
    ...(fetch ?? []).filter((n) => !outs.some((o) => o.name === n)).map((n) => m.graph.values.get(n)!),
  ];
  const bytes = serializeModel(m).onnx;
  m.graph.outputs = outs;
  const s = await rt.session(bytes);
  const x = f32(shape);
  x.data.forEach((_, i) => {
    (x.data as Float32Array)[i] = Math.sin(i * 0.37) + 0.5 * Math.cos(i * 0.011);
  });
  const out = await s.run({ [s.inputNames[0]!]: x }, fetch ?? s.outputNames);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

// Parameters predicted from the kept channels: every channel count becomes round(r·C) except the image input and logits;
// a folded conv's bias becomes a restored BatchNorm's gamma and beta.
function predictParams(m: Model, r: number, folded: boolean): number {
  const g = m.graph;
  const k = (c: number) => Math.max(1, Math.round(r * c));
  let total = 0;
  for (const n of g.nodes) {
    if (n.opType === 'Conv') {
      const [o, ig, kh, kw] = n.input(1).constant!.dims as number[];
      const groups = n.attrInt('group', 1);
      const i = ig! * groups;
      const inKept = g.inputs.includes(n.input(0)) ? i : k(i);
      total += groups > 1 && groups === i ? k(o!) * kh! * kw! : k(o!) * (inKept / groups) * kh! * kw!;
      if (n.inputs[2]) total += (folded ? 2 : 1) * k(o!);
    } else if (n.opType === 'BatchNormalization') total += 2 * k(n.input(1).constant!.size);
    else if (n.opType === 'Gemm') {
      const [o, i] = n.input(1).constant!.dims as number[];
      total += o! * k(i!) + o!;
    }
  }
  return total;
}

test('ratio 1.0 keeps a zoo model exactly (ResNet residuals, ShuffleNet V2 split/shuffle, MobileNetV2)', async () => {
  for (const name of ['resnet20', 'shufflev2', 'mobile-half']) {
    const teacher = buildZooModel(name, { input: [3, 32, 32], classes: 100 });
    const student = slimModel(teacher, 1, { criterion: 'l1' });
    assert.equal(params(student), params(teacher));
    const [a, b] = [await run(teacher, [2, 3, 32, 32]), await run(student, [2, 3, 32, 32])];
    assert.ok(maxDiff(a.logits!, b.logits!) < 1e-4, name);
    assert.deepEqual(
      JSON.parse(student.metadata().get(TAPS_METADATA_KEY)!),
      JSON.parse(teacher.metadata().get(TAPS_METADATA_KEY)!),
    );
  }
});

test('slimmed zoo models of every family run and keep their taps', async () => {
  for (const name of ['resnet8x4', 'wrn-16-2', 'vgg8', 'mobile-half', 'shufflev1', 'shufflev2', 'cnn']) {
    const teacher = buildZooModel(name, { input: [3, 32, 32], classes: 10 });
    const student = slimModel(teacher, 0.5, { criterion: name === 'vgg8' ? 'bn-gamma' : 'l1' });
    assert.ok(params(student) < 0.6 * params(teacher), `${name}: ${params(student)} of ${params(teacher)}`);
    const out = await run(student, [2, 3, 32, 32], ['logits', 'f3', 'embedding']);
    assert.equal(out.logits!.length, 20, name);
    assert.ok(out.logits!.every(Number.isFinite), name);
  }
});

test('ratio 1.0 keeps the ResNet-18 fixture exactly', { skip: !existsSync(fixture('resnet18.onnx')) }, async () => {
  const teacher = loadAt64('resnet18.onnx');
  const student = slimModel(teacher, 1, { criterion: 'bn-gamma' });
  const [a, b] = [await run(teacher, [1, 3, 64, 64]), await run(student, [1, 3, 64, 64])];
  assert.ok(maxDiff(a.logits!, b.logits!) < 1e-4);
  assert.equal(params(student), 11689512);
});

test(
  'slim:0.5 of ResNet-18 keeps a quarter of the parameters, exactly as its kept channels predict',
  { skip: !existsSync(fixture('resnet18.onnx')) },
  async () => {
    const teacher = loadAt64('resnet18.onnx');
    const { model, layers } = slimWithReport(teacher, 0.5, { criterion: 'l1' });
    assert.equal(params(model), predictParams(teacher, 0.5, false));
    const share = params(model) / params(teacher);
    assert.ok(share > 0.23 && share < 0.28, `kept ${share}`);
    const layer4 = layers.filter((l) => l.op === 'Conv' && l.node.includes('layer4'));
    assert.ok(layer4.length >= 5 && layer4.every((l) => l.outChannels === 512 && l.keptOut === 256));
    const out = await run(model, [1, 3, 64, 64]);
    assert.equal(out.logits!.length, 1000);
    assert.ok(out.logits!.every(Number.isFinite));
  },
);

test(
  'a BN-folded MobileNetV2 export gets its BatchNorms back, unchanged at ratio 1, slimmed at 0.5',
  { skip: !existsSync(fixture('mobilenetv2_folded.onnx')) },
  async () => {
    const teacher = loadAt64('mobilenetv2_folded.onnx');
    const same = slimWithReport(teacher, 1, { criterion: 'bn-gamma' });
    assert.equal(same.restoredBatchNorms, 52);
    assert.equal(params(same.model), 700490); // PyTorch's count: conv weights + BN gamma/beta + classifier
    assert.ok(same.model.graph.nodes.every((n) => n.opType !== 'Conv' || n.inputs.length === 2));
    const pooled = teacher.graph.nodes.find((n) => n.opType === 'Flatten')!.outputs[0]!.name;
    const [a, b] = [
      await run(teacher, [1, 3, 64, 64], ['logits', pooled]),
      await run(same.model, [1, 3, 64, 64], ['logits', pooled]),
    ];
    assert.ok(maxDiff(a[pooled]!, b[pooled]!) < 1e-4 * Math.max(1, ...a[pooled]!.map(Math.abs)));
    assert.ok(maxDiff(a.logits!, b.logits!) < 1e-4);
    const half = slimModel(teacher, 0.5, { criterion: 'l1' });
    assert.equal(params(half), predictParams(teacher, 0.5, true));
    const out = await run(half, [1, 3, 64, 64]);
    assert.equal(out.logits!.length, 10);
  },
);

test('bn-gamma keeps the filters whose BatchNorm scales are largest', () => {
  const teacher = buildZooModel('cnn-tiny', { input: [1, 8, 8], classes: 3 });
  const gamma = teacher.graph.values.get('bn0.weight')!.constant!.data as Float32Array;
  gamma.set([0.1, 5, 0.2, 4, 0.3, 3, 0.4, 2]);
  const student = slimModel(teacher, 0.5, { criterion: 'bn-gamma' });
  assert.deepEqual([...(student.graph.values.get('bn0.weight')!.constant!.data as Float32Array)], [5, 4, 3, 2]);
  const w0 = teacher.graph.values.get('conv0.weight')!.constant!.data as Float32Array;
  const w1 = student.graph.values.get('conv0.weight')!.constant!.data as Float32Array;
  assert.deepEqual([...w1.slice(0, 9)], [...w0.slice(9, 18)]);
  assert.deepEqual(student.graph.values.get('conv1.weight')!.constant!.dims, [8, 4, 3, 3]);
});

test('bad ratios and unsupported patterns are UserErrors that name the problem', () => {
  const teacher = buildZooModel('cnn-tiny', { input: [1, 8, 8], classes: 3 });
  for (const r of [0, -0.5, 1.5, Number.NaN]) {
    assert.throws(
      () => slimModel(teacher, r, { criterion: 'l1' }),
      (e: unknown) => e instanceof UserError && /ratio must be in \(0, 1\]/.test(e.message),
    );
  }
  assert.throws(() => deriveStudent(teacher, 'slim:abc'), UserError);
  assert.throws(() => deriveStudent(teacher, 'slim:0.5:random'), /criterion/);
  const { graph, b } = newGraph('odd');
  const x = addInput(graph, 'input', 'float32', ['N', 2, 4, 4]);
  const y = b.op.Conv!([x, b.constant(Tensor.float32([4, 2, 1, 1], Array(8).fill(0.5)))], {});
  const t = b.node('Transpose', [y], { perm: [0, 2, 3, 1] }, { name: 'to_nhwc' })[0]!;
  graph.outputs = [b.reshape(t, [0, -1])];
  assert.throws(
    () => slimModel(newModel(graph), 0.5, { criterion: 'l1' }),
    (e: unknown) => e instanceof UserError && /Transpose node 'to_nhwc'/.test(e.message),
  );
});

test('deriveStudent: slim:<ratio> slims the teacher, zoo:<name> is built for its input and classes', () => {
  const teacher = buildZooModel('resnet8', { input: [1, 28, 28], classes: 10 });
  const slim = deriveStudent(teacher, 'slim:0.5');
  assert.ok(params(slim) < params(teacher) / 3);
  const zoo = deriveStudent(teacher, 'zoo:cnn-tiny');
  assert.deepEqual(zoo.graph.inputs[0]!.type!.shape, ['N', 1, 28, 28]);
  assert.deepEqual(zoo.graph.outputs[0]!.type!.shape, ['N', 10]);
});
