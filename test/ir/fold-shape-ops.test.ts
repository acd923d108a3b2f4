// Constant folding of the integer arithmetic Swin's export computes its window padding with (Mod, Transpose).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newGraph } from '../../src/ir/builder.js';

test("Mod folds with the divisor's sign (fmod 0, Python's %) and the dividend's (fmod 1, C's fmod)", () => {
  const { b } = newGraph('mod');
  const x = b.constant([-7, 7, -7, 7], 'int64');
  const y = b.constant([3, -3, -3, 3], 'int64');
  assert.deepEqual(b.op.Mod!([x, y]).constant?.toNumbers(), [2, -2, -1, 1]);
  assert.deepEqual(b.op.Mod!([x, y], { fmod: 1 }).constant?.toNumbers(), [-1, 1, -1, 1]);
});

test('Transpose folds integer tensors (a pads table re-laid out) but leaves float weights to onnxruntime', () => {
  const { graph, b } = newGraph('transpose');
  const pads = b.reshape(b.constant([0, 1, 2, 3, 4, 5, 6, 7], 'int64'), [4, 2]);
  assert.deepEqual(b.transpose(pads, [1, 0]).constant?.toNumbers(), [0, 2, 4, 6, 1, 3, 5, 7]);
  const w = graph.addInitializer('w', b.constant([1, 2, 3, 4, 5, 6]).constant!);
  assert.equal(b.transpose(b.reshape(w, [2, 3]), [1, 0]).constant, undefined);
});
