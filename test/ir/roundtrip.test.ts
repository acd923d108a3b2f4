import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { loadModel, newModel, parseModel, saveModel, serializeModel } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
} from '../../src/onnx/onnx_pb.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { FIXTURES, randomFeeds, sameOutputs } from './helpers.js';

let rt: Runtime;
before(() => {
  rt = new Runtime({ threads: 1 });
});
after(async () => {
  await rt.close();
});

async function run(bytes: Uint8Array, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const s = await rt.session(bytes);
  try {
    return await s.run(structuredClone(feeds));
  } finally {
    await s.release();
  }
}

// A small conv net through the builder: Conv → BN → Relu → GAP → Flatten → Gemm.
function builtModel() {
  const { graph, b } = newGraph('tiny');
  const x = addInput(graph, 'x', 'float32', ['N', 2, 6, 6]);
  const w = b.constant(
    Tensor.float32(
      [4, 2, 3, 3],
      Array.from({ length: 72 }, (_, i) => Math.sin(i)),
    ),
  );
  let y = b.op.Conv!([x, w], { pads: [1, 1, 1, 1] });
  const c = (v: number) => b.constant(Tensor.float32([4], [v, v * 2, v * 3, v * 4]));
  y = b.op.BatchNormalization!([y, c(1), c(0.1), c(0.01), c(1.5)], { epsilon: 1e-5 });
  y = b.op.Flatten!([b.op.GlobalAveragePool!([b.op.Relu!([y])])], { axis: 1 });
  const fc = b.constant(Tensor.float32([3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  const logits = b.node('Gemm', [y, fc], { transB: 1 }, { outputNames: ['logits'] })[0]!;
  graph.outputs = [logits];
  return newModel(graph, 17);
}

describe('IR round-trip', () => {
  test('a builder-made graph serializes to bytes that re-serialize identically and run the same', async () => {
    const m = builtModel();
    const bytes = serializeModel(m).onnx;
    const again = serializeModel(parseModel(bytes)).onnx;
    assert.deepEqual(Buffer.from(again), Buffer.from(bytes));
    const feeds = randomFeeds(m, 2);
    const out = await run(bytes, feeds);
    assert.deepEqual(out.logits!.dims, [2, 3]);
    assert.equal(sameOutputs(out, await run(again, feeds)), undefined);
  });

  for (const [file, batch] of [
    ['resnet18.onnx', 1],
    ['mobilenetv2_folded.onnx', 2],
    ['small_resnet_eval.onnx', 3],
    ['small_resnet_train.onnx', 2],
  ] as const) {
    test(`${file}: load → save gives a model onnxruntime runs with identical outputs`, async () => {
      const path = join(FIXTURES, file);
      const original = readFileSync(path);
      const m = loadModel(path);
      const saved = serializeModel(m).onnx;
      const feeds = randomFeeds(m, batch);
      assert.equal(sameOutputs(await run(original, feeds), await run(saved, feeds)), undefined);
      assert.equal(parseModel(saved).graph.nodes.length, m.graph.nodes.length);
    });
  }

  test('doc strings, metadata_props and unknown fields survive a round-trip', () => {
    const proto = fromBinary(ModelProtoSchema, serializeModel(builtModel()).onnx);
    proto.docString = 'model doc';
    proto.metadataProps.push({ $typeName: 'onnx.StringStringEntryProto', key: 'author', value: 'tests' });
    proto.graph!.docString = 'graph doc';
    proto.graph!.node[0]!.docString = 'node doc';
    const unknown = { no: 4242, wireType: 0, data: new Uint8Array([7]) };
    proto.$unknown = [unknown];
    proto.graph!.node[0]!.$unknown = [{ ...unknown, no: 777, data: new Uint8Array([9]) }];
    const back = fromBinary(ModelProtoSchema, serializeModel(parseModel(toBinary(ModelProtoSchema, proto))).onnx);
    assert.equal(back.docString, 'model doc');
    assert.equal(back.graph!.docString, 'graph doc');
    assert.equal(back.graph!.node[0]!.docString, 'node doc');
    assert.deepEqual(
      back.metadataProps.map((e) => [e.key, e.value]),
      [['author', 'tests']],
    );
    assert.deepEqual(
      back.$unknown?.map((u) => [u.no, [...u.data]]),
      [[4242, [7]]],
    );
    assert.deepEqual(
      back.graph!.node[0]!.$unknown?.map((u) => u.no),
      [777],
    );
    assert.equal(create(NodeProtoSchema).$typeName, 'onnx.NodeProto');
  });

  test('an unnamed optional output stays unnamed after a round-trip', () => {
    const { graph, b } = newGraph('drop');
    const x = addInput(graph, 'x', 'float32', [2]);
    graph.outputs = [b.node('Dropout', [x], {}, { outputNames: ['y', 'mask'] })[0]!];
    const proto = fromBinary(ModelProtoSchema, serializeModel(newModel(graph, 17)).onnx);
    proto.graph!.node[0]!.output = ['y', ''];
    const back = fromBinary(ModelProtoSchema, serializeModel(parseModel(toBinary(ModelProtoSchema, proto))).onnx);
    assert.deepEqual(back.graph!.node[0]!.output, ['y', '']);
  });

  test('INT64_MAX in a Slice `ends` initializer and in an int attribute survives exactly', async () => {
    const { graph, b } = newGraph('slice');
    const x = addInput(graph, 'x', 'float32', [2, 5]);
    const max = (1n << 63n) - 1n;
    const ends = b.constant(new Tensor('int64', [1], BigInt64Array.from([max])));
    const y = b.node(
      'Slice',
      [x, b.constant(Tensor.int64([1], [1])), ends, b.constant(Tensor.int64([1], [1]))],
      {},
      { outputNames: ['y'] },
    )[0]!;
    graph.outputs = [y];
    const proto = fromBinary(ModelProtoSchema, serializeModel(newModel(graph, 17)).onnx);
    proto.graph!.node[0]!.attribute.push(
      create(AttributeProtoSchema, { name: 'big', type: AttributeProto_AttributeType.INT, i: max - 1n }),
    );
    const m = parseModel(toBinary(ModelProtoSchema, proto));
    const back = fromBinary(ModelProtoSchema, serializeModel(m).onnx);
    const init = parseModel(serializeModel(m).onnx).graph.values.get(ends.name)!.constant!;
    assert.equal((init.data as BigInt64Array)[0], max);
    assert.equal(back.graph!.node[0]!.attribute.find((a) => a.name === 'big')!.i, max - 1n);
    proto.graph!.node[0]!.attribute.pop();
    const out = await run(serializeModel(parseModel(toBinary(ModelProtoSchema, proto))).onnx, {
      x: { type: 'float32', dims: [2, 5], data: Float32Array.from({ length: 10 }, (_, i) => i) },
    });
    assert.deepEqual([...(out.y!.data as Float32Array)], [1, 2, 3, 4, 6, 7, 8, 9]);
  });
});

describe('external data', () => {
  test('loads tensors from the sidecar file and saves a new sidecar that reloads equal', async () => {
    const m = loadModel(join(FIXTURES, 'small_ext/model.onnx'));
    const w = m.graph.values.get('fc1.weight')!.constant!;
    assert.equal(w.size, 50176);
    const dir = mkdtempSync(join(tmpdir(), 'onnx-distill-ext-'));
    saveModel(m, join(dir, 'copy.onnx'), { externalData: 'copy.bin', externalThreshold: 64 });
    assert.ok(existsSync(join(dir, 'copy.bin')));
    assert.ok(statSync(join(dir, 'copy.onnx')).size < 4096, 'weights live in the sidecar, not the .onnx');
    const back = loadModel(join(dir, 'copy.onnx'));
    for (const v of m.graph.initializers) {
      assert.deepEqual(
        Buffer.from(back.graph.values.get(v.name)!.constant!.bytes()),
        Buffer.from(v.constant!.bytes()),
        v.name,
      );
    }
    const inline = serializeModel(back).onnx;
    const feeds = randomFeeds(m, 2);
    assert.equal(sameOutputs(await run(serializeModel(m).onnx, feeds), await run(inline, feeds)), undefined);
  });
});
