import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { loadModel, parseModel, serializeModel } from '../../src/ir/model.js';
import { ModelProtoSchema } from '../../src/onnx/onnx_pb.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES, randomFloats } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'onnx-distill-bad-'));

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err instanceof Error ? err.stack : String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

// A 1x1 PNG: signature, IHDR, IDAT, IEND.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e2d70000000049454e44ae426082',
  'hex',
);

describe('bad model files are clear user errors', () => {
  const good = readFileSync(join(FIXTURES, 'small_resnet_eval.onnx'));

  for (const frac of [0.1, 0.5, 0.9, 0.999]) {
    test(`a file truncated to ${frac * 100}% of its bytes`, () => {
      const p = join(scratch, `trunc-${frac}.onnx`);
      writeFileSync(p, good.subarray(0, Math.floor(good.length * frac)));
      rejects(() => loadModel(p), /trunc|not (a valid )?ONNX/);
    });
  }

  test('a PNG image', () => {
    const p = join(scratch, 'image.png');
    writeFileSync(p, PNG);
    rejects(() => loadModel(p), /not (a valid |an )?ONNX/);
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`random bytes (seed ${seed})`, () => {
      const bytes = Buffer.from(randomFloats(256, seed).buffer);
      rejects(() => parseModel(bytes, `random-${seed}.onnx`), /random-\d\.onnx/);
    });
  }

  test('an empty file, a folder and a missing path', () => {
    const p = join(scratch, 'empty.onnx');
    writeFileSync(p, new Uint8Array(0));
    rejects(() => loadModel(p), /not (a valid |an )?ONNX/);
    rejects(() => loadModel(scratch), /folder/);
    rejects(() => loadModel(join(scratch, 'nope.onnx')), /no such file/);
  });

  test('a node in an unknown op domain names the node and the domain', () => {
    const proto = fromBinary(ModelProtoSchema, good);
    proto.graph!.node[1]!.domain = 'com.example.custom';
    rejects(() => parseModel(toBinary(ModelProtoSchema, proto), 'custom.onnx'), /custom\.onnx.*'com\.example\.custom'/);
  });

  test('a missing external-data file names the file', () => {
    const dir = mkdtempSync(join(scratch, 'ext-'));
    copyFileSync(join(FIXTURES, 'small_ext/model.onnx'), join(dir, 'model.onnx'));
    rejects(() => loadModel(join(dir, 'model.onnx')), /external data file 'weights\.bin'.*missing/);
  });

  for (const loc of ['../secret.bin', '/etc/passwd', 'sub/../../x.bin']) {
    test(`an external-data location outside the model folder (${loc}) is refused`, () => {
      const proto = fromBinary(ModelProtoSchema, readFileSync(join(FIXTURES, 'small_ext/model.onnx')));
      for (const t of proto.graph!.initializer) for (const e of t.externalData) if (e.key === 'location') e.value = loc;
      const p = join(scratch, 'escape.onnx');
      writeFileSync(p, toBinary(ModelProtoSchema, proto));
      rejects(() => loadModel(p), /outside the model's folder/);
    });
  }

  test('external data shorter than the tensor needs', () => {
    const dir = mkdtempSync(join(scratch, 'short-'));
    copyFileSync(join(FIXTURES, 'small_ext/model.onnx'), join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(FIXTURES, 'small_ext/weights.bin')).subarray(0, 1000));
    rejects(() => loadModel(join(dir, 'model.onnx')), /too short/);
  });

  test('a valid model still loads after all that (sanity)', () => {
    assert.ok(parseModel(serializeModel(parseModel(good)).onnx).graph.nodes.length > 0);
  });
});
