// Model validation at load: each way a file can be malformed is a UserError naming the file and the node or tensor
// (the cases a hostile-input run found ending as internal errors or reported as valid).
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { loadModel, parseModel } from '../../src/ir/model.js';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  ModelProtoSchema,
  TensorShapeProto_DimensionSchema,
  type ModelProto,
} from '../../src/onnx/onnx_pb.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES } from './helpers.js';

const good = readFileSync(join(FIXTURES, 'small_resnet_eval.onnx'));

function refused(edit: (m: ModelProto) => void, pattern: RegExp): void {
  const m = fromBinary(ModelProtoSchema, good);
  edit(m);
  assert.throws(
    () => parseModel(toBinary(ModelProtoSchema, m), 'bad.onnx'),
    (err: unknown) => {
      assert.ok(
        err instanceof UserError,
        `expected a UserError, got ${err instanceof Error ? err.stack : String(err)}`,
      );
      assert.match(err.message, /^bad\.onnx: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const init = (m: ModelProto, i = 0) => m.graph!.initializer[i]!;
const conv = (m: ModelProto) => m.graph!.node.find((n) => n.opType === 'Conv')!;

describe('malformed models are user errors naming the node or tensor', () => {
  const cases: [string, (m: ModelProto) => void, RegExp][] = [
    [
      'raw data shorter than the dims',
      (m) => {
        init(m).rawData = init(m).rawData.subarray(4);
      },
      /initializer '.+': raw data has \d+ bytes but float32\[.*\] needs/,
    ],
    [
      'raw data longer than the dims',
      (m) => {
        init(m).rawData = new Uint8Array([...init(m).rawData, 0, 0, 0, 0]);
      },
      /raw data has \d+ bytes/,
    ],
    [
      'an unknown dtype code',
      (m) => {
        init(m).dataType = 77;
      },
      /initializer '.+' has data type code 77/,
    ],
    [
      'a negative dim',
      (m) => {
        init(m).dims[0] = -3n;
      },
      /initializer '.+' has dim -3/,
    ],
    [
      'a 2^62 dim',
      (m) => {
        init(m).dims[0] = 1n << 62n;
      },
      /has dim 4611686018427387904/,
    ],
    [
      'a 2^62 input dim',
      (m) => {
        const t = m.graph!.input[0]!.type!.value;
        if (t.case === 'tensorType')
          t.value.shape!.dim[2] = create(TensorShapeProto_DimensionSchema, {
            value: { case: 'dimValue', value: 1n << 62n },
          });
      },
      /graph input 'input' declares dim 4611686018427387904/,
    ],
    [
      'a value produced by two nodes',
      (m) => {
        m.graph!.node[3]!.output[0] = m.graph!.node[1]!.output[0]!;
      },
      /the name '.+' is defined twice/,
    ],
    [
      'a node reading a value nothing produces',
      (m) => {
        m.graph!.node[2]!.input[0] = 'ghost';
      },
      /node '.+' \(.+\) reads 'ghost', which no node produces/,
    ],
    [
      'a graph with no outputs',
      (m) => {
        m.graph!.output = [];
      },
      /has no outputs/,
    ],
    [
      'opset 0',
      (m) => {
        m.opsetImport[0]!.version = 0n;
      },
      /opset 0 for domain 'ai\.onnx' is outside the known range 1\.\.\d+/,
    ],
    [
      'opset 99',
      (m) => {
        m.opsetImport[0]!.version = 99n;
      },
      /opset 99/,
    ],
    [
      'an op type in no ONNX opset',
      (m) => {
        m.graph!.node[0]!.opType = 'Conv3000';
      },
      /'Conv3000' is not an operator of domain 'ai\.onnx' in any ONNX opset/,
    ],
    [
      'an op newer than the imported opset',
      (m) => {
        m.graph!.node.find((n) => n.opType === 'Relu')!.opType = 'Gelu';
      },
      /Gelu exists from opset 20 of 'ai\.onnx', but the model imports opset 17/,
    ],
    [
      'a cycle',
      (m) => {
        const n = m.graph!.node;
        n[0]!.input[0] = n[1]!.output[0]!;
      },
      /has a cycle through node/,
    ],
    [
      'a duplicate initializer',
      (m) => {
        m.graph!.initializer.push(init(m));
      },
      /initializer '.+' appears twice/,
    ],
    [
      'kernel_shape 0',
      (m) => {
        const a = conv(m).attribute.find((x) => x.name === 'kernel_shape')!;
        a.ints = [0n, 0n];
      },
      /node '.+' \(Conv\): kernel_shape \[0, 0\] must be positive/,
    ],
    [
      'group 0',
      (m) => {
        const c = conv(m);
        c.attribute = [
          ...c.attribute.filter((a) => a.name !== 'group'),
          create(AttributeProtoSchema, { name: 'group', type: AT.INT, i: 0n }),
        ];
      },
      /attribute 'group' is 0/,
    ],
    [
      'an attribute of the wrong type',
      (m) => {
        const a = conv(m).attribute.find((x) => x.name === 'strides')!;
        a.type = AT.FLOAT;
      },
      /attribute 'strides' must be a list of ints/,
    ],
  ];
  for (const [name, edit, pattern] of cases) test(name, () => refused(edit, pattern));

  test('external data reached through a link that leaves the model folder is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'od-validate-'));
    const outside = mkdtempSync(join(tmpdir(), 'od-outside-'));
    copyFileSync(join(FIXTURES, 'small_ext/model.onnx'), join(dir, 'model.onnx'));
    copyFileSync(join(FIXTURES, 'small_ext/weights.bin'), join(outside, 'weights.bin'));
    symlinkSync(join(outside, 'weights.bin'), join(dir, 'weights.bin'));
    assert.throws(
      () => loadModel(join(dir, 'model.onnx')),
      (e: unknown) => e instanceof UserError && /link to a file outside the model's folder/.test(e.message),
    );
  });

  test('an external length that disagrees with the dims is refused before reading', () => {
    const dir = mkdtempSync(join(tmpdir(), 'od-validate-'));
    const m = fromBinary(ModelProtoSchema, readFileSync(join(FIXTURES, 'small_ext/model.onnx')));
    for (const e of m.graph!.initializer[0]!.externalData) if (e.key === 'length') e.value = '4';
    writeFileSync(join(dir, 'model.onnx'), toBinary(ModelProtoSchema, m));
    copyFileSync(join(FIXTURES, 'small_ext/weights.bin'), join(dir, 'weights.bin'));
    assert.throws(
      () => loadModel(join(dir, 'model.onnx')),
      (e: unknown) => e instanceof UserError && /external data length 4 does not match its dims/.test(e.message),
    );
  });
});
