// Issue 18 part 3: every ONNX a command writes is a deterministic inference graph. The user's model is a
// training-mode export whose Dropout keeps training_mode=True (ratio 0.5): train's model.onnx, distill's students,
// dml's ensemble.onnx, sokd's teacher-kbm.onnx and export's fp32/fp16/int8 files must hold no training-mode Dropout
// and give identical logits on two runs with graph optimisation disabled, in onnxruntime-node and onnxruntime-web.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { loadModel, newModel, saveModel } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { loadWeb } from '../../src/runtime/inference.js';
import { cli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-clean-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const dropoutModel = join(root, 'dropout.train.onnx');

// conv3x3(1->8)-ReLU-conv3x3 s2(8->16)-ReLU-Dropout(0.5, training_mode=True)-GAP-Linear(16->10), as torch exports
// a training-mode model with nn.Dropout: the ratio and the mode are constant inputs.
function writeDropoutModel(): void {
  const { graph: g, b } = newGraph('dropout');
  const x = addInput(g, 'input', 'float32', ['batch', 1, 28, 28]);
  const w = (name: string, dims: number[]) =>
    g.addInitializer(
      name,
      Tensor.float32(
        dims,
        Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(i * 12.9898) * 0.3),
      ),
    );
  let y = b.op.Relu!([b.op.Conv!([x, w('conv1.weight', [8, 1, 3, 3]), w('conv1.bias', [8])], { pads: [1, 1, 1, 1] })]);
  y = b.op.Relu!([
    b.op.Conv!([y, w('conv2.weight', [16, 8, 3, 3]), w('conv2.bias', [16])], { pads: [1, 1, 1, 1], strides: [2, 2] }),
  ]);
  y = b.node('Dropout', [y, b.constant(0.5), b.constant(1, 'bool')], {}, { outputs: 2 })[0]!;
  const logits = b.node(
    'Gemm',
    [b.op.Flatten!([b.op.GlobalAveragePool!([y])]), w('fc.weight', [10, 16]), w('fc.bias', [10])],
    { transB: 1 },
    { outputNames: ['logits'] },
  )[0]!;
  logits.type = { dtype: 'float32', shape: ['batch', 10] };
  g.outputs = [logits];
  saveModel(newModel(g, 17), dropoutModel);
}

before(async () => {
  writeDropoutModel();
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

const common = ['--data', images, '--epochs', '1', '--batch-size', '16', '--threads', '1'];

// Two runs of one batch in each engine with the optimiser off: the same logits, run to run and engine to engine.
async function assertDeterministic(path: string): Promise<void> {
  const m = loadModel(path);
  const training = m.graph.nodes.filter(
    (n) => n.opType === 'Dropout' && (n.inputs[2]?.constant?.toNumbers()[0] ?? 0) !== 0,
  );
  assert.deepEqual(
    training.map((n) => n.name),
    [],
    `${path}: training-mode Dropout left`,
  );
  const x = Float32Array.from({ length: 4 * 28 * 28 }, (_, i) => Math.cos(i * 0.37));
  for (const [engine, ort] of [
    ['node', ortNode],
    ['web', await loadWeb()],
  ] as const) {
    const s = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
    const feed = () => ({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [4, 1, 28, 28]) });
    const a = (await s.run(feed()))[s.outputNames[0]!]!.data as Float32Array;
    const c = (await s.run(feed()))[s.outputNames[0]!]!.data as Float32Array;
    await s.release();
    assert.ok(a.length === 40 && a.every(Number.isFinite), `${path} (${engine}): ${a.length} logits`);
    assert.deepEqual(Array.from(c), Array.from(a), `${path} (${engine}): two runs differ`);
  }
}

test('the fixture really is random with the optimiser off (so the checks below can fail)', async () => {
  const s = await ortNode.InferenceSession.create(dropoutModel, { graphOptimizationLevel: 'disabled' });
  const x = new ortNode.Tensor(
    'float32',
    Float32Array.from({ length: 4 * 28 * 28 }, (_, i) => Math.cos(i * 0.37)),
    [4, 1, 28, 28],
  );
  const a = Array.from((await s.run({ input: x })).logits!.data as Float32Array);
  const c = Array.from((await s.run({ input: x })).logits!.data as Float32Array);
  await s.release();
  assert.notDeepEqual(a, c);
});

test('train writes a deterministic model.onnx from a training-mode export', async () => {
  const out = join(root, 'train');
  const r = await cli(['train', '--model', dropoutModel, ...common, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  await assertDeterministic(join(out, 'model.onnx'));
});

test('distill: dml students and ensemble.onnx; sokd student and teacher-kbm.onnx, from a training-mode teacher', async () => {
  const dml = join(root, 'dml');
  let r = await cli([
    'distill',
    ...common,
    '--method',
    'dml',
    '--students',
    '2',
    '--student',
    dropoutModel,
    '--out',
    dml,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const written = readdirSync(dml)
    .filter((f) => f.endsWith('.onnx'))
    .sort();
  assert.deepEqual(written, ['ensemble.onnx', 'student1.onnx', 'student2.onnx']);
  for (const f of written) await assertDeterministic(join(dml, f));
  const sokd = join(root, 'sokd');
  r = await cli([
    'distill',
    ...common,
    '--method',
    'sokd',
    '--teacher',
    dropoutModel,
    '--student',
    dropoutModel,
    '--out',
    sokd,
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['student.onnx', 'teacher-kbm.onnx']) await assertDeterministic(join(sokd, f));
});

test('export writes deterministic fp32, fp16 and int8 files of a training-mode export', async () => {
  for (const format of ['fp32', 'fp16', 'int8']) {
    const out = join(root, `export.${format}.onnx`);
    // untrained weights: int8's top-1 agreement on 32 images is not what this checks
    const agree = format === 'int8' ? ['--min-agreement', '0.8'] : [];
    const r = await cli([
      'export',
      dropoutModel,
      '--format',
      format,
      '--data',
      images,
      '--calibration',
      '32',
      '--verify-images',
      '32',
      ...agree,
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, `${format}: ${r.stderr}`);
    await assertDeterministic(out);
  }
});
