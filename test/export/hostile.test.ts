// Models that pass validation but that export used to stumble on at run time (found by the fuzz export target):
// each is now exit 2 naming the file and the tensor, or, for a fixed batch size, a verified export in whole batches.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  TensorShapeProto_DimensionSchema,
  type ModelProto,
} from '../../src/onnx/onnx_pb.js';
import { writeFuzzImages } from '../fuzz/images.js';
import { cli, FIXTURES, tempDir } from './helpers.js';

const dir = tempDir();
const images = writeFuzzImages(join(dir, 'images'));

// small_resnet_eval with one edit, written to its own file.
function edited(name: string, edit: (m: ModelProto) => void): string {
  const m = fromBinary(ModelProtoSchema, readFileSync(join(FIXTURES, 'small_resnet_eval.onnx')));
  edit(m);
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, toBinary(ModelProtoSchema, m));
  return path;
}

function setDim(m: ModelProto, which: 'input' | 'output', k: number, value: bigint): void {
  const vi = m.graph![which][0]!;
  if (vi.type?.value.case !== 'tensorType') throw new Error('fixture has no tensor type');
  vi.type.value.value.shape!.dim[k] = create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value } });
}

async function exportTo(path: string, format: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return cli([
    'export',
    path,
    '--format',
    format,
    '--out',
    `${path}.${format}.out.onnx`,
    '--json',
    '--data',
    images,
    '--verify-images',
    '20',
    '--calibration',
    '20',
    '--threads',
    '1',
    ...(format === 'int8' ? ['--min-agreement', '0.5'] : []),
  ]);
}

describe('export of hostile but valid models', () => {
  test('a declared class count that disagrees with the computed one is exit 2 naming the output', async () => {
    const path = edited('classes3', (m) => setDim(m, 'output', 1, 3n));
    for (const format of ['fp32', 'fp16', 'int8']) {
      const r = await exportTo(path, format);
      assert.equal(r.code, 2, `${format}: ${r.stderr}`);
      assert.ok(r.stderr.includes(path), r.stderr);
      assert.match(r.stderr, /output 'logits' is declared \[batchx3\] but the model computes \[2x10\]/);
    }
  });

  test('a Flatten over the batch axis (runs only at batch 1) is exit 2, not an onnxruntime failure', async () => {
    const path = edited('flatten0', (m) => {
      const a = m.graph!.node.find((n) => n.opType === 'Flatten')!.attribute.find((x) => x.name === 'axis')!;
      a.type = AT.INT;
      a.i = 0n;
    });
    const r = await exportTo(path, 'fp32');
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, /cannot run at input 2x1x28x28 .*Gemm node '\/fc\/Gemm'/);
  });

  test('a fixed batch size of 3 is verified in whole batches (18 of 20 images); batch 0 is exit 2', async () => {
    const three = await exportTo(
      edited('batch3', (m) => setDim(m, 'input', 0, 3n)),
      'fp32',
    );
    assert.equal(three.code, 0, three.stderr);
    const j = JSON.parse(three.stdout) as {
      verification: { passed: boolean; images: number };
      classifier: { batch?: number };
    };
    assert.equal(j.classifier.batch, 3);
    assert.equal(j.verification.images, 18);
    assert.ok(j.verification.passed);
    const zero = edited('batch0', (m) => setDim(m, 'input', 0, 0n));
    const r = await exportTo(zero, 'fp32');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /input 'input' declares batch size 0/);
  });

  test('int8 of a model computing NaN is exit 2 naming the activation with no finite range', async () => {
    const path = edited('nan', (m) => {
      const w = m.graph!.initializer.find((t) => t.name === 'conv1.weight')!;
      const nan = new Float32Array(w.rawData.byteLength / 4).fill(Number.NaN);
      w.rawData = new Uint8Array(nan.buffer);
    });
    const r = await exportTo(path, 'int8');
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, /activation '[^']+' has no finite range on 20 calibration images/);
  });
});
