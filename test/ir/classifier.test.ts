import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { classifierIO, probeShapes, staticClassifierIO } from '../../src/ir/classifier.js';
import { UserError } from '../../src/util/errors.js';
import { Tensor } from '../../src/ir/tensor.js';

// classifierIO is the one reader of a classifier's input and output (compiler, models, data, pipeline all use it):
// what it reports for static, dynamic and malformed inputs, and the errors it gives.

// GAP -> Flatten -> Gemm to `classes` logits, on an input of the given shape.
function classifier(shape: (number | string)[], classes = 3, extraInput = false) {
  const { graph, b } = newGraph('c');
  const x = addInput(graph, 'image', 'float32', shape);
  if (extraInput) addInput(graph, 'mask', 'float32', [1]);
  const c = typeof shape[1] === 'number' ? shape[1] : 2;
  const w = b.constant(Tensor.float32([classes, c], new Array(classes * c).fill(0.5)));
  const y = b.op.Flatten!([b.op.GlobalAveragePool!([x])], { axis: 1 });
  const logits = b.node('Gemm', [y, w], { transB: 1 }, { outputNames: ['logits'] })[0]!;
  logits.type = { dtype: 'float32', shape: ['N', classes] };
  graph.outputs = [logits];
  return graph;
}

describe('classifierIO', () => {
  test('a static NCHW input: name, shape, dtype, layout, image size, output name and class count', () => {
    const io = classifierIO(classifier([4, 2, 8, 8], 5));
    assert.equal(io.inputName, 'image');
    assert.equal(io.input.name, 'image');
    assert.deepEqual(io.shape, [4, 2, 8, 8]);
    assert.equal(io.dtype, 'float32');
    assert.equal(io.layout, 'NCHW');
    assert.deepEqual(io.image, [2, 8, 8]);
    assert.equal(io.batch, 4);
    assert.equal(io.outputName, 'logits');
    assert.equal(io.classes, 5);
  });

  test('dynamic dims are kept by name; image size and batch are then unknown', () => {
    const io = classifierIO(classifier(['N', 2, 'H', 'W']));
    assert.deepEqual(io.shape, ['N', 2, 'H', 'W']);
    assert.equal(io.layout, 'NCHW');
    assert.equal(io.image, undefined);
    assert.equal(io.batch, undefined);
    assert.equal(io.classes, 3);
  });

  test('a rank-2 input is read, but has no NCHW layout or image size', () => {
    const io = classifierIO(classifier(['N', 2]));
    assert.equal(io.layout, undefined);
    assert.equal(io.image, undefined);
  });

  test('two non-constant inputs are a user error naming the file and both inputs', () => {
    assert.throws(
      () => classifierIO(classifier([1, 2, 8, 8], 3, true), 'two.onnx'),
      (e: unknown) =>
        e instanceof UserError &&
        /^two\.onnx: expected one image input, the model has 2 \(image, mask\)/.test(e.message),
    );
  });

  test('staticClassifierIO refuses a dynamic image size, naming the file and the shapes', () => {
    assert.deepEqual(staticClassifierIO(classifier([1, 2, 8, 8], 4)), { input: [2, 8, 8], classes: 4 });
    assert.throws(
      () => staticClassifierIO(classifier(['N', 2, 'H', 'W']), 'dyn.onnx'),
      (e: unknown) => e instanceof UserError && /^dyn\.onnx: cannot read .*\["N",2,"H","W"\]/.test(e.message),
    );
  });

  test('probeShapes infers every shape at batch 1 with dynamic image dims taken as 1', () => {
    const g = classifier(['N', 2, 'H', 'W'], 3);
    probeShapes(g);
    assert.deepEqual(g.outputs[0]!.type?.shape, [1, 3]);
  });
});
