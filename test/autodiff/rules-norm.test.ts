// Finite-difference checks of the normalisation rules transformers, ConvNeXt and GroupNorm networks need.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck, type CheckCase } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

async function check(name: string, c: CheckCase): Promise<void> {
  const r = await gradcheck({ directions: 4, ...c }, rt);
  assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
}

test('LayerNormalization over the last axis (ViT tokens [N,T,D])', () =>
  check('LN last', {
    inputs: [
      { name: 'x', shape: [2, 3, 6] },
      { name: 's', shape: [6] },
      { name: 'b', shape: [6] },
    ],
    build: (b, [x, s, bb]) => b.op.LayerNormalization!([x!, s!, bb!], { epsilon: 1e-6 }),
  }));

test('LayerNormalization over the last two axes, no bias, with its Mean/InvStdDev outputs named', () =>
  check('LN axis 1', {
    inputs: [
      { name: 'x', shape: [3, 4, 5] },
      { name: 's', shape: [4, 5] },
    ],
    build: (b, [x, s]) => b.node('LayerNormalization', [x!, s!], { axis: 1 }, { outputs: 3 })[0]!,
  }));

test('LayerNormalization with a scale broadcast along an axis (sum over it)', () =>
  check('LN broadcast scale', {
    inputs: [
      { name: 'x', shape: [2, 4, 3] },
      { name: 's', shape: [1, 3] },
      { name: 'b', shape: [3] },
    ],
    build: (b, [x, s, bb]) => b.op.LayerNormalization!([x!, s!, bb!], { axis: -2 }),
  }));

test('InstanceNormalization on [N,C,H,W]', () =>
  check('IN', {
    inputs: [
      { name: 'x', shape: [2, 3, 4, 5] },
      { name: 's', shape: [3] },
      { name: 'b', shape: [3] },
    ],
    build: (b, [x, s, bb]) => b.op.InstanceNormalization!([x!, s!, bb!], { epsilon: 1e-5 }),
  }));

test("InstanceNormalization inside torch's GroupNorm export (Reshape [N,G,-1], IN, Reshape, Mul, Add)", () =>
  check('GN decomposed', {
    inputs: [
      { name: 'x', shape: [2, 6, 3, 3] },
      { name: 'w', shape: [6, 1, 1] },
      { name: 'b', shape: [6, 1, 1] },
    ],
    build: (b, [x, w, bb]) => {
      const g = b.reshape(x!, [2, 3, -1]);
      const n = b.op.InstanceNormalization!([g, b.constant([1, 1, 1]), b.constant([0, 0, 0])], { epsilon: 1e-5 });
      return b.add(b.mul(b.reshape(n, [2, 6, 3, 3]), w!), bb!);
    },
  }));

test('GroupNormalization-18 (scale and bias per group)', () =>
  check('GN 18', {
    inputs: [
      { name: 'x', shape: [2, 6, 3, 2] },
      { name: 's', shape: [3] },
      { name: 'b', shape: [3] },
    ],
    build: (b, [x, s, bb]) => b.op.GroupNormalization!([x!, s!, bb!], { num_groups: 3, epsilon: 1e-5 }),
  }));

test('GroupNormalization-21 (scale and bias per channel)', () =>
  check('GN 21', {
    opset: 21,
    inputs: [
      { name: 'x', shape: [2, 6, 3, 2] },
      { name: 's', shape: [6] },
      { name: 'b', shape: [6] },
    ],
    build: (b, [x, s, bb]) => b.op.GroupNormalization!([x!, s!, bb!], { num_groups: 2, epsilon: 1e-5 }),
  }));
