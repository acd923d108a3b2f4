// Widening a zoo model (information-flow KD's proxy teacher, methods.md §6(a)): the same family and depth with
// every layer twice as wide, built for the input and classes the original was built for; families without a
// widened form, and models the zoo did not build, give undefined.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tapShape } from '../../src/models/graft.js';
import { buildZooModel, widenZooModel, zooBuildOf } from '../../src/zoo/index.js';

const build = (name: string) => buildZooModel(name, { input: [3, 32, 32], classes: 10, seed: 1 });

test('cnn-tiny → cnn → cnn-wide: doubling walks the named plain CNNs', () => {
  assert.equal(zooBuildOf(widenZooModel(build('cnn-tiny'), 2)!)!.name, 'cnn');
  const wide = widenZooModel(build('cnn'), 2)!;
  assert.equal(zooBuildOf(wide)!.name, 'cnn-wide');
  assert.deepEqual(zooBuildOf(wide)!.input, [3, 32, 32]);
  assert.equal(zooBuildOf(widenZooModel(wide, 2)!)!.name, 'cnn-x64');
});

for (const [name, taps] of [
  ['resnet20', ['f0', 'f1', 'f2', 'f3', 'embedding']],
  ['wrn-16-2', ['f0', 'f1', 'f2', 'f3', 'embedding']],
  ['vgg8', ['f1', 'f3', 'f4', 'embedding']],
] as const) {
  test(`${name} widened: every tapped layer has twice the channels, the same spatial size and the same classes`, () => {
    const m = build(name);
    const w = widenZooModel(m, 3)!;
    assert.ok(w, `${name} has a widened form`);
    assert.equal(zooBuildOf(w)!.name, `${name}-x2`);
    for (const t of taps) {
      const [c, ...rest] = tapShape(m, t);
      const [cw, ...restW] = tapShape(w, t);
      assert.equal(cw, 2 * c!, `${t} channels`);
      assert.deepEqual(restW, rest, `${t} spatial size`);
    }
    assert.deepEqual(tapShape(w, 'logits'), [10]);
  });
}

test('families without a widened form and non-zoo models give undefined', () => {
  assert.equal(widenZooModel(build('mobile-half'), 0), undefined);
  assert.equal(widenZooModel(build('shufflev1'), 0), undefined);
  const m = build('cnn');
  m.proto.metadataProps = m.proto.metadataProps.filter((e) => e.key !== 'onnx_distill.zoo');
  assert.equal(widenZooModel(m, 0), undefined);
});
