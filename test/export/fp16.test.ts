// fp16 conversion on a small graph: half rounding, float32 islands for sensitive ops, io types, numbers in onnxruntime.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toFloat16 } from '../../src/export/fp16.js';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { fromHalf, toHalf } from '../../src/ir/half.js';
import { newModel, serializeModel } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { openRunner } from '../../src/runtime/inference.js';
import { randomFloats } from '../ir/helpers.js';

test('toHalf rounds to nearest even and saturates to infinity past 65504', () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(1e6), 0x7c00);
  assert.equal(toHalf(0.1), 0x2e66);
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00); // a tie: rounds to the even mantissa
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(toHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(toHalf(1e-9), 0);
  for (const v of [0.5, 3.140625, -1024, 2 ** -20]) assert.equal(fromHalf(toHalf(v)), v);
});

// conv -> relu -> global pool -> flatten -> gemm -> softmax, seeded weights.
function smallNet() {
  const { graph, b } = newGraph('net');
  const x = addInput(graph, 'x', 'float32', ['N', 2, 8, 8]);
  const w = Tensor.float32([4, 2, 3, 3], randomFloats(72, 2));
  const h = b.op.Relu!([b.op.Conv!([x, w, Tensor.float32([4], randomFloats(4, 3))], { pads: [1, 1, 1, 1] })]);
  const f = b.op.Flatten!([b.op.GlobalAveragePool!([h])]);
  const logits = b.op.Gemm!([f, Tensor.float32([3, 4], randomFloats(12, 4)), Tensor.float32([3], randomFloats(3, 5))], {
    transB: 1,
  });
  graph.outputs = [b.node('Softmax', [logits], { axis: 1 }, { outputNames: ['probs'] })[0]!];
  return newModel(graph);
}

test('Softmax stays float32 between casts; weights and the rest go float16; outputs match fp32 to 1e-3', async () => {
  const fp32 = serializeModel(smallNet()).onnx;
  const m = toFloat16(smallNet());
  const g = m.graph;
  const softmax = g.nodes.find((n) => n.opType === 'Softmax')!;
  assert.equal(softmax.input(0).dtype, 'float32');
  assert.equal(softmax.input(0).producer?.opType, 'Cast');
  assert.equal(g.nodes.find((n) => n.opType === 'Conv')!.input(1).dtype, 'float16');
  assert.equal(g.inputs[0]!.dtype, 'float32');
  assert.equal(g.outputs[0]!.name, 'probs');
  assert.equal(g.outputs[0]!.dtype, 'float32');
  const x = randomFloats(4 * 2 * 64, 9);
  const [a, h] = [await openRunner('node', fp32), await openRunner('node', serializeModel(m).onnx)];
  const ya = (await a.run(x, [4, 2, 8, 8])).probs!.data;
  const yh = (await h.run(x, [4, 2, 8, 8])).probs!.data;
  await a.close();
  await h.close();
  const d = ya.reduce((mx, v, i) => Math.max(mx, Math.abs(v - yh[i]!)), 0);
  assert.ok(d < 1e-3, `max |Δ| ${d}`);
});

test('--io fp16 makes the input and output float16 and keeps the output name', async () => {
  const m = toFloat16(smallNet(), 'fp16');
  assert.equal(m.graph.inputs[0]!.dtype, 'float16');
  assert.equal(m.graph.outputs[0]!.name, 'probs');
  const r = await openRunner('web', serializeModel(m).onnx, { inputType: 'float16' });
  const y = (await r.run(randomFloats(2 * 128, 1), [2, 2, 8, 8])).probs!;
  await r.close();
  assert.deepEqual(y.dims, [2, 3]);
  assert.ok(Math.abs(y.data[0]! + y.data[1]! + y.data[2]! - 1) < 2e-3);
});
