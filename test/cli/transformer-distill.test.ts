// Issue 18: distil through main() between transformers and CNNs, tiny sizes, one epoch: a PyTorch-exported ViT
// (test/fixtures/vit_train.onnx, torchvision's VisionTransformer at width 32) teaching a CNN, and a CNN
// (small_resnet_eval.onnx) teaching the zoo's DeiT-tiny ViT. Checks that each runs and writes a usable student.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-vit-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const common = ['--data', images, '--epochs', '1', '--batch-size', '16', '--threads', '1', '--method', 'kd', '--json'];

interface Summary {
  networks: { name: string; role: string; params: number; lastValAcc: number | null }[];
}

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 48);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

async function distill(teacher: string, student: string, out: string): Promise<Summary> {
  const r = await cli(['distill', ...common, '--teacher', teacher, '--student', student, '--out', out]);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  const s = JSON.parse(r.stdout) as Summary;
  assert.deepEqual(
    s.networks.map((n) => n.role),
    ['teacher', 'student'],
  );
  for (const n of s.networks)
    assert.ok(n.lastValAcc !== null && n.lastValAcc >= 0 && n.lastValAcc <= 1, `${n.name}: ${n.lastValAcc}`);
  return s;
}

test('a PyTorch ViT teacher (training-mode export) distils into a CNN student', async () => {
  const out = join(root, 'vit-to-cnn');
  const s = await distill(join(FIXTURES, 'vit_train.onnx'), 'zoo:cnn-tiny', out);
  assert.equal(s.networks[0]!.params, 24234);
  const student = loadModel(join(out, 'student.onnx'));
  assert.deepEqual(
    student.graph.inputs[0]!.type?.shape?.slice(1),
    [3, 32, 32],
    "the student takes the teacher's input",
  );
});

test('a CNN teacher distils into the zoo ViT (DeiT-tiny, patch 7)', async () => {
  const out = join(root, 'cnn-to-vit');
  const s = await distill(join(FIXTURES, 'small_resnet_eval.onnx'), 'zoo:vit-tiny-p7', out);
  assert.equal(s.networks[1]!.params, 5372554 - 2 * 192 * 49); // timm's deit_tiny at 28 px, patch 7, 10 classes, 1 channel
  const student = loadModel(join(out, 'student.onnx'));
  assert.equal(student.graph.nodes.filter((n) => n.opType === 'Softmax').length, 12);
  assert.deepEqual(student.graph.inputs[0]!.type?.shape?.slice(1), [1, 28, 28]);
});
