import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, test } from 'node:test';
import type { ModelSummary } from '../../src/analysis/summary.js';
import type { Taps } from '../../src/models/taps.js';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from '../../src/onnx/onnx_pb.js';
import { cli, FIXTURES } from './helpers.js';

const resnet = join(FIXTURES, 'resnet18.onnx');

describe('inspect on the ResNet-18 fixture', () => {
  test('the text report names parameters, MACs, the four stage taps and the embedding', async () => {
    const r = await cli(['inspect', resnet]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /parameters: 11,689,512 /);
    assert.match(r.stdout, /MACs: 1\.81 G/);
    for (const [tap, layer, hw] of [
      ['f1', 'layer1', 56],
      ['f2', 'layer2', 28],
      ['f3', 'layer3', 14],
      ['f4', 'layer4', 7],
    ] as const) {
      assert.match(r.stdout, new RegExp(`${tap}\\s+NCHW\\s+1x\\d+x${hw}x${hw}\\s+/${layer}/`));
    }
    assert.match(r.stdout, /embedding\s+N,D\s+1x512\s+\/Flatten_output_0/);
    assert.match(r.stdout, /input\s+float32\s+batchx3x224x224\s+-> 1x3x224x224/);
    assert.match(r.stdout, /differentiable: /);
  });

  test('taps of other layouts: channels-last stages transposed in the tap, transformer blocks as token maps', async () => {
    const nhwc = await cli(['inspect', join(FIXTURES, 'taps', 'nhwc.onnx')]);
    assert.equal(nhwc.code, 0, nhwc.stderr);
    assert.match(
      nhwc.stdout,
      /f1\s+NCHW\s+1x16x8x8\s+\/Add_output_0 \(channels last in the graph: transposed in the tap\)/,
    );
    const vit = await cli(['inspect', join(FIXTURES, 'taps', 'vit.onnx')]);
    assert.equal(vit.code, 0, vit.stderr);
    assert.match(vit.stdout, /b2\s+N,T,D\s+1x17x32\s+\/encoder\/layers\/encoder_layer_1\/Add_1_output_0/);
    assert.match(vit.stdout, /b1\.\. are transformer blocks \(token maps\)/);
  });

  test('--json is the same report, parseable, nothing else on stdout', async () => {
    const r = await cli(['inspect', resnet, '--json', '--input-shape', '2x3x224x224']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ModelSummary & { model: string };
    assert.equal(s.parameters.count, 11_689_512);
    assert.equal(s.parameters.buffers, 9_600);
    assert.ok(Math.abs(s.macs.total / 2 / 1.82e9 - 1) < 0.01, `MACs per image ${s.macs.total / 2}`);
    assert.deepEqual(Object.keys(s.macs.byOpType).sort(), ['Conv', 'Gemm']);
    assert.equal(s.macs.byOpType.Gemm, 2 * 512 * 1000);
    assert.equal(s.ops.Conv, 20);
    assert.equal(s.ops.BatchNormalization, 20);
    assert.deepEqual(s.outputs[0]!.inferred, [2, 1000]);
    const taps = s.taps as Taps;
    assert.deepEqual(
      taps.stages.map((t) => t.shape),
      [
        [2, 64, 56, 56],
        [2, 128, 28, 28],
        [2, 256, 14, 14],
        [2, 512, 7, 7],
      ],
    );
    assert.deepEqual(
      taps.stages.map((t) => t.value.split('/')[1]),
      ['layer1', 'layer2', 'layer3', 'layer4'],
    );
    assert.deepEqual(taps.stem?.shape, [2, 64, 112, 112]);
    assert.equal(taps.embedding.value, '/Flatten_output_0');
    assert.equal(taps.logits.value, 'logits');
    assert.equal(typeof s.differentiable.supported, 'boolean');
  });
});

describe('inspect on other models', () => {
  test('an external-data model loads from its folder', async () => {
    const r = await cli(['inspect', join(FIXTURES, 'small_ext/model.onnx'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as ModelSummary).parameters.count, 55_338);
  });

  test('a zoo model reports the taps recorded in its metadata', async () => {
    const r = await cli(['inspect', 'zoo:resnet8', '--input-shape', '1x1x28x28', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ModelSummary;
    const taps = s.taps as Taps;
    assert.equal(taps.source, 'metadata');
    assert.deepEqual(
      taps.stages.map((t) => t.name),
      ['f1', 'f2', 'f3', 'f4'],
    );
    assert.deepEqual(s.inputs[0]!.inferred, [1, 1, 28, 28]);
  });

  test('the folded MobileNetV2 export: parameters after folding, no BN buffers', async () => {
    const r = await cli(['inspect', join(FIXTURES, 'mobilenetv2_folded.onnx'), '--json']);
    const s = JSON.parse(r.stdout) as ModelSummary;
    assert.equal(s.parameters.count, 691_218);
    assert.equal(s.parameters.buffers, 0);
  });
});

describe('inspect says whether onnxruntime loads the model', () => {
  test('a valid model: loads', async () => {
    const r = await cli(['inspect', join(FIXTURES, 'small_resnet_eval.onnx')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^onnxruntime: loads the model$/m);
  });

  test('a model onnxruntime refuses (an unknown com.microsoft contrib op): the report gives its reason', async () => {
    const m = fromBinary(ModelProtoSchema, readFileSync(join(FIXTURES, 'small_resnet_eval.onnx')));
    const relu = m.graph!.node.find((n) => n.opType === 'Relu')!;
    relu.domain = 'com.microsoft';
    relu.opType = 'NoSuchContribOp';
    m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
    const p = join(mkdtempSync(join(tmpdir(), 'od-inspect-')), 'contrib.onnx');
    writeFileSync(p, toBinary(ModelProtoSchema, m));
    const r = await cli(['inspect', p, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { onnxruntime: { loads: boolean; reason?: string } };
    assert.equal(s.onnxruntime.loads, false);
    assert.match(s.onnxruntime.reason!, /NoSuchContribOp/);
  });
});
