// Finite-difference checks of the neural-network op rules on awkward sizes.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Runtime } from '../../src/runtime/session.js';
import { expandTrainingBatchNorm, toTrainingBatchNorm } from '../../src/compiler/bnTrain.js';
import { expandSilu, toSilu } from '../../src/compiler/silu.js';
import { gradcheck, type CheckCase } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

async function check(name: string, c: CheckCase): Promise<void> {
  const r = await gradcheck(c, rt);
  assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
}

const convCases: [string, number[], number[], Record<string, number[] | number>, boolean][] = [
  ['3x3 stride 1 pad 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }, true],
  ['stride 2 on odd 7x9', [2, 3, 7, 9], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, true],
  ['asymmetric pads', [1, 2, 6, 5], [3, 2, 3, 2], { pads: [0, 1, 2, 0] }, false],
  ['dilation 2', [1, 2, 9, 8], [3, 2, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }, true],
  ['groups 2', [2, 4, 6, 6], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }, true],
  ['depthwise stride 2', [2, 4, 7, 7], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, false],
  ['1x1', [2, 5, 4, 4], [3, 5, 1, 1], {}, true],
  ['1x1 stride 2 (projection shortcut)', [2, 4, 7, 7], [6, 4, 1, 1], { strides: [2, 2] }, false],
];

for (const [name, xs, ws, attrs, bias] of convCases) {
  test(`Conv: ${name}`, () =>
    check(`Conv ${name}`, {
      inputs: [{ name: 'x', shape: xs }, { name: 'w', shape: ws }, ...(bias ? [{ name: 'b', shape: [ws[0]!] }] : [])],
      build: (b, [x, w, bb]) => b.op.Conv!(bb ? [x!, w!, bb] : [x!, w!], attrs),
    }));
}

test('ConvTranspose: stride 2 with output_padding and bias', () =>
  check('ConvTranspose', {
    inputs: [
      { name: 'x', shape: [2, 3, 4, 5] },
      { name: 'w', shape: [3, 2, 3, 3] },
      { name: 'b', shape: [2] },
    ],
    build: (b, [x, w, bb]) =>
      b.op.ConvTranspose!([x!, w!, bb!], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 0] }),
  }));

test('ConvTranspose: 4x4 stride 2 pad 1 (FitNets regressor upsampling)', () =>
  check('ConvTranspose 4x4', {
    inputs: [
      { name: 'x', shape: [1, 2, 3, 3] },
      { name: 'w', shape: [2, 3, 4, 4] },
    ],
    build: (b, [x, w]) => b.op.ConvTranspose!([x!, w!], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  }));

for (const [ta, tb] of [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
] as const) {
  test(`Gemm transA=${ta} transB=${tb} alpha/beta, broadcast C`, () =>
    check('Gemm', {
      inputs: [
        { name: 'a', shape: ta ? [4, 3] : [3, 4] },
        { name: 'b', shape: tb ? [5, 4] : [4, 5] },
        { name: 'c', shape: [5] },
      ],
      build: (b, [a, bb, c]) => b.op.Gemm!([a!, bb!, c!], { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 }),
    }));
}

test('MatMul batched with broadcasting', () =>
  check('MatMul', {
    inputs: [
      { name: 'a', shape: [2, 1, 3, 4] },
      { name: 'b', shape: [3, 4, 2] },
    ],
    build: (b, [a, bb]) => b.matmul(a!, bb!),
  }));

test('MatMul with 1-D operands', () =>
  check('MatMul 1-D', {
    inputs: [
      { name: 'a', shape: [4] },
      { name: 'b', shape: [2, 4, 3] },
    ],
    build: (b, [a, bb]) => b.matmul(a!, bb!),
  }));

// Distinct values at least 0.1 apart, so finite differences never cross an argmax tie.
const spaced = (n: number) => (_z: number, i: number) => ((i * 37) % n) * 0.1 - n * 0.05;

test('MaxPool overlapping windows, pads, ceil_mode', () =>
  check('MaxPool', {
    inputs: [{ name: 'x', shape: [2, 3, 7, 6], init: spaced(252) }],
    build: (b, [x]) => b.op.MaxPool!([x!], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }),
  }));

test('MaxPool 2x2 stride 2 on an odd size (last row dropped)', () =>
  check('MaxPool 2x2', {
    inputs: [{ name: 'x', shape: [2, 3, 7, 6], init: spaced(252) }],
    build: (b, [x]) => b.op.MaxPool!([x!], { kernel_shape: [2, 2], strides: [2, 2] }),
  }));

for (const cip of [0, 1]) {
  test(`AveragePool count_include_pad=${cip} with pads and ceil_mode`, () =>
    check('AveragePool', {
      inputs: [{ name: 'x', shape: [2, 2, 7, 6] }],
      build: (b, [x]) =>
        b.op.AveragePool!([x!], {
          kernel_shape: [3, 2],
          strides: [2, 2],
          pads: [1, 1, 1, 0],
          count_include_pad: cip,
          ceil_mode: 1,
        }),
    }));
}

test('GlobalAveragePool and GlobalMaxPool', () =>
  check('GlobalPool', {
    inputs: [{ name: 'x', shape: [2, 3, 5, 4] }],
    build: (b, [x]) => b.add(b.op.GlobalAveragePool!([x!]), b.op.GlobalMaxPool!([x!])),
  }));

test('BatchNormalization (inference form)', () =>
  check('BatchNormalization', {
    inputs: [
      { name: 'x', shape: [3, 4, 3, 2] },
      { name: 's', shape: [4] },
      { name: 'b', shape: [4] },
      { name: 'm', shape: [4], grad: false },
      { name: 'v', shape: [4], grad: false, init: 'positive' },
    ],
    build: (b, [x, s, bb, m, v]) => b.op.BatchNormalization!([x!, s!, bb!, m!, v!], { epsilon: 1e-3 }),
  }));

// SiLU as exported, Mul(x, Sigmoid(x)) in either operand order, through the compiler's Silu pseudo-op and its rule
// (which recomputes the sigmoid), lowered back as the compiler lowers it.
for (const first of ['x', 'sigmoid'] as const) {
  test(`SiLU (Silu pseudo-op), Mul with the ${first} first`, () =>
    check('Silu', {
      inputs: [{ name: 'x', shape: [2, 3, 4, 3], init: (z) => 3 * z }],
      build: (b, [x]) => {
        const s = b.op.Sigmoid!([x!]);
        const y = first === 'x' ? b.mul(x!, s) : b.mul(s, x!);
        assert.equal(toSilu(b.graph), 1, 'the Mul(x, Sigmoid(x)) pattern is found');
        return y;
      },
      lower: expandSilu,
    }));
}

test('a sigmoid that feeds something else is not fused (its value is kept anyway)', () =>
  check('Sigmoid', {
    inputs: [{ name: 'x', shape: [3, 5] }],
    build: (b, [x]) => {
      const s = b.op.Sigmoid!([x!]);
      const out = [b.mul(x!, s), b.add(s, 1)];
      assert.equal(toSilu(b.graph), 0);
      return out;
    },
  }));

// Training-mode BatchNorm (the BatchNormTrain pseudo-op and its fused rule, lowered as the compiler lowers it), on a
// 4-D and a 2-D input; the running-stat outputs are not differentiated.
for (const shape of [
  [3, 4, 3, 2],
  [5, 3],
]) {
  test(`BatchNormalization, training form (batch statistics), ${shape.length}-D`, () =>
    check('BatchNormTrain', {
      inputs: [
        { name: 'x', shape, init: (z, k) => z + 0.3 * (k % 3) },
        { name: 's', shape: [shape[1]!] },
        { name: 'b', shape: [shape[1]!] },
        { name: 'm', shape: [shape[1]!], grad: false },
        { name: 'v', shape: [shape[1]!], grad: false, init: 'positive' },
      ],
      build: (b, [x, s, bb, m, v]) => {
        const y = b.op.BatchNormalization!([x!, s!, bb!, m!, v!], { epsilon: 1e-3 });
        toTrainingBatchNorm(b.graph);
        return y;
      },
      lower: expandTrainingBatchNorm,
    }));
}
