import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import { inferShapes } from '../../src/ir/passes/shapes.js';
import { autoTaps, findTaps, resolveTap } from '../../src/models/taps.js';
import { UserError } from '../../src/util/errors.js';
import { buildZooModel } from '../../src/zoo/index.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

function fixture(file: string, input: number[]) {
  const m = loadModel(join(FIXTURES, file));
  inferShapes(m.graph, { inputShapes: { input } });
  return m;
}

describe('automatic taps', () => {
  test('ResNet-18 at 224: layer1..layer4 outputs, the stem apart, the flattened pool, the logits', () => {
    const t = autoTaps(fixture('resnet18.onnx', [1, 3, 224, 224]).graph);
    assert.deepEqual(
      t.stages.map((s) => [s.name, s.value]),
      [
        ['f1', '/layer1/layer1.1/relu_1/Relu_output_0'],
        ['f2', '/layer2/layer2.1/relu_1/Relu_output_0'],
        ['f3', '/layer3/layer3.1/relu_1/Relu_output_0'],
        ['f4', '/layer4/layer4.1/relu_1/Relu_output_0'],
      ],
    );
    assert.deepEqual(t.stem, { name: 'f0', value: '/relu/Relu_output_0', shape: [1, 64, 112, 112], layout: 'nchw' });
    assert.equal(t.embedding.value, '/Flatten_output_0');
    assert.equal(t.logits.value, 'logits');
  });

  test('a residual net whose first resolution has blocks keeps it as a stage (small ResNet, training export)', () => {
    const t = autoTaps(fixture('small_resnet_train.onnx', [2, 1, 28, 28]).graph);
    assert.deepEqual(
      t.stages.map((s) => s.value),
      ['/layer1/relu_1/Relu_output_0', '/layer2/relu_1/Relu_output_0'],
    );
  });

  test('a plain CNN has no separate stem: every resolution is a stage, the embedding is the last FC input', () => {
    const t = autoTaps(fixture('small_ext/model.onnx', [1, 1, 28, 28]).graph);
    assert.deepEqual(
      t.stages.map((s) => s.shape),
      [
        [1, 16, 28, 28],
        [1, 32, 14, 14],
        [1, 32, 7, 7],
      ],
    );
    assert.deepEqual(t.embedding.shape, [1, 32]);
  });

  test('channel-shuffle views (5-D values) do not end the walk (ShuffleNetV2)', () => {
    const m = buildZooModel('shufflev2', { input: [3, 32, 32], classes: 10 });
    inferShapes(m.graph, { inputShapes: { input: [1, 3, 32, 32] } });
    assert.deepEqual(
      autoTaps(m.graph).stages.map((s) => (s.shape as number[])[2]),
      [16, 8, 4],
    );
  });
});

describe('recorded and user-named taps', () => {
  test('zoo metadata wins over the walk', () => {
    const m = buildZooModel('resnet8', { input: [1, 28, 28], classes: 10 });
    const t = findTaps(m);
    assert.equal(t.source, 'metadata');
    assert.deepEqual(
      t.stages.map((s) => s.value),
      ['f1', 'f2', 'f3', 'f4'],
    );
  });

  test('any value name is a tap; an unknown one is a UserError listing the tap names', () => {
    const m = fixture('resnet18.onnx', [1, 3, 224, 224]);
    assert.equal(resolveTap(m, 'f2').value, '/layer2/layer2.1/relu_1/Relu_output_0');
    assert.deepEqual(resolveTap(m, '/layer3/layer3.0/relu/Relu_output_0').shape, [1, 256, 14, 14]);
    assert.throws(
      () => resolveTap(m, 'layer9'),
      (e: unknown) => e instanceof UserError && /layer9/.test(e.message) && /f1, f2/.test(e.hint ?? ''),
    );
  });
});
