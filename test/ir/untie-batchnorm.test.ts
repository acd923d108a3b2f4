// A PyTorch export whose BatchNorm statistics are Identity(scale) / Identity(shift) (torch.onnx merges equal
// initializers; test/fixtures/tied_bn.onnx, scripts/fixtures/tied_bn.py): loaded to train, each statistic gets its own
// tensor, so training updates the statistics apart from the scale and shift and the export writes them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { classifyInitializers } from '../../src/ir/params.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import { loadTrainableModel } from '../../src/zoo/index.js';
import { cli } from '../cli/helpers.js';

const fixture = new URL('../fixtures/tied_bn.onnx', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'od-untie-bn-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

const values = (m: ReturnType<typeof loadModel>, name: string) =>
  Array.from(m.graph.initializers.find((v) => v.name === name)!.constant!.data as Float32Array);

test('as exported, the statistics are no tensors of their own; untied, they are buffers with the values they had', () => {
  const raw = loadModel(fixture);
  assert.deepEqual(
    raw.graph.nodes.filter((n) => n.opType === 'Identity').map((n) => n.inputs[0]!.name),
    ['bn.weight', 'bn.bias'],
  );
  assert.deepEqual(classifyInitializers(raw.graph).buffers, []);
  const m = loadTrainableModel(fixture);
  assert.equal(m.graph.nodes.filter((n) => n.opType === 'Identity').length, 0);
  assert.deepEqual(
    classifyInitializers(m.graph).buffers.map((v) => v.name),
    ['bn.running_mean', 'bn.running_var'],
  );
  assert.deepEqual(values(m, 'bn.running_mean'), [0, 0, 0, 0]);
  assert.deepEqual(values(m, 'bn.running_var'), [1, 1, 1, 1]);
  (m.graph.initializers.find((v) => v.name === 'bn.weight')!.constant!.data as Float32Array)[0] = 7;
  assert.equal(values(m, 'bn.running_var')[0], 1, 'a copy, not a view of the scale');
});

test('distill trains the statistics apart from the scale and shift and exports them', async () => {
  const out = join(root, 'run');
  const r = await cli([
    'distill',
    '--student',
    fixture,
    '--method',
    'ce',
    '--data',
    images,
    '--epochs',
    '1',
    '--batch-size',
    '16',
    '--threads',
    '1',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = loadModel(join(out, 'student.onnx'));
  const bn = m.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
  const [scale, shift, mean, variance] = bn.inputs.slice(1).map((v) => Array.from(v!.constant!.data as Float32Array));
  assert.ok(
    mean!.some((x) => x !== 0),
    `running mean moved: ${mean}`,
  );
  assert.notDeepEqual(variance, scale);
  assert.notDeepEqual(mean, shift);
});
