import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countMacs } from '../../src/analysis/macs.js';
import { checkDifferentiable, opHistogram } from '../../src/analysis/ops.js';
import { countParameters } from '../../src/analysis/params.js';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { Tensor } from '../../src/ir/tensor.js';

const f32 = (dims: number[]) => Tensor.float32(dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5));

describe('MACs', () => {
  test('grouped Conv, ConvTranspose, Gemm and batched MatMul follow the textbook formulas', () => {
    const { graph, b } = newGraph('macs');
    const x = addInput(graph, 'x', 'float32', [2, 8, 10, 10]);
    const c = b.op.Conv!([x, b.constant(f32([16, 4, 3, 3]))], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }); // [2,16,5,5]
    const t = b.op.ConvTranspose!([c, b.constant(f32([16, 4, 2, 2]))], { strides: [2, 2] }); // [2,4,10,10]
    const m = b.op.MatMul!([b.reshape(t, [2, 40, 10]), b.constant(f32([10, 7]))]); // [2,40,7]
    const g = b.op.Gemm!([b.reshape(m, [2, 280]), b.constant(f32([3, 280]))], { transB: 1 });
    graph.outputs = [g];
    const r = countMacs(graph);
    assert.deepEqual(r.byOpType, {
      Conv: 2 * 16 * 5 * 5 * 4 * 3 * 3,
      ConvTranspose: 2 * 16 * 5 * 5 * 4 * 2 * 2,
      MatMul: 2 * 40 * 7 * 10,
      Gemm: 2 * 3 * 280,
    });
    assert.equal(
      r.total,
      Object.values(r.byOpType).reduce((a, v) => a + v, 0),
    );
    assert.deepEqual(r.unknown, []);
  });

  test('a conv without known shapes is listed, not guessed', () => {
    const { graph, b } = newGraph('unknown');
    const x = addInput(graph, 'x', 'float32', ['N', 3, 'H', 'W']);
    graph.outputs = [b.op.Conv!([x, b.constant(f32([4, 3, 1, 1]))])];
    const r = countMacs(graph);
    assert.equal(r.total, 0);
    assert.equal(r.unknown.length, 1);
  });
});

describe('parameters and ops', () => {
  test('BN scale/bias count, running stats and integer constants do not', () => {
    const { graph, b } = newGraph('params');
    const x = addInput(graph, 'x', 'float32', [1, 4, 2, 2]);
    const y = b.op.Conv!([x, b.constant(f32([4, 4, 1, 1]))]);
    const bn = b.op.BatchNormalization!([
      y,
      b.constant(f32([4])),
      b.constant(Tensor.float32([4], [0, 0, 0, 1])),
      b.constant(Tensor.float32([4], [1, 2, 3, 4])),
      b.constant(Tensor.float32([4], [5, 6, 7, 8])),
    ]);
    graph.outputs = [b.reshape(bn, [1, 16])];
    const p = countParameters(graph);
    assert.equal(p.count, 16 + 4 + 4);
    assert.equal(p.bytes, 4 * 24);
    assert.equal(p.buffers, 8);
    assert.deepEqual(opHistogram(graph), { BatchNormalization: 1, Conv: 1, Reshape: 1 });
  });

  test('an op without a gradient rule is named with its nodes; shape arithmetic is not', () => {
    const { graph, b } = newGraph('diff');
    const x = addInput(graph, 'x', 'float32', [2, 3]);
    const e = b.node('Softsign', [b.op.Relu!([x])], {}, { name: 'soft_sign' })[0]!;
    const n = b.op.Gather!([b.op.Shape!([x]), b.constant(Tensor.int64([1], [0]))], { axis: 0 });
    graph.outputs = [b.op.Reshape!([e, b.op.Concat!([n, b.constant(Tensor.int64([1], [-1]))], { axis: 0 })])];
    const d = checkDifferentiable(graph);
    assert.equal(d.supported, false);
    assert.deepEqual(d.unsupported, [{ opType: 'Softsign', nodes: ['soft_sign'] }]);
  });
});
