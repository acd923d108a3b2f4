// Finite-difference checks of the element-wise, reduction and layout op rules (broadcasting, negative axes, odd sizes).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Builder } from '../../src/ir/builder.js';
import type { Value } from '../../src/ir/graph.js';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck, type CheckInput } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

type Case = [string, CheckInput[], (b: Builder, v: Value[]) => Value | Value[]];
const x = (shape: number[], init?: CheckInput['init']): CheckInput => ({ name: 'x', shape, ...(init ? { init } : {}) });
const y = (shape: number[], init?: CheckInput['init']): CheckInput => ({ name: 'y', shape, ...(init ? { init } : {}) });
const awayFrom = (points: number[]) => (z: number) => {
  let v = z * 2;
  for (const p of points) if (Math.abs(v - p) < 0.1) v += 0.3;
  return v;
};

const cases: Case[] = [
  ['Sub broadcast', [x([2, 3, 4]), y([3, 1])], (b, [a, c]) => b.sub(a!, c!)],
  ['Div broadcast', [x([2, 3]), y([3], 'positive')], (b, [a, c]) => b.div(a!, c!)],
  ['Mul broadcast scalar-like', [x([2, 3]), y([1])], (b, [a, c]) => b.mul(a!, c!)],
  [
    'Neg/Exp/Log/Sqrt/Reciprocal chain',
    [x([5], 'positive')],
    (b, [a]) => [b.neg(a!), b.op.Exp!([a!]), b.op.Log!([a!]), b.op.Sqrt!([a!]), b.op.Reciprocal!([a!])],
  ],
  ['Pow with tensor exponent', [x([4], 'positive'), y([4])], (b, [a, c]) => b.op.Pow!([a!, c!])],
  ['Abs', [x([6], awayFrom([0]))], (b, [a]) => b.op.Abs!([a!])],
  ['Sigmoid/Tanh/Softplus', [x([7])], (b, [a]) => [b.op.Sigmoid!([a!]), b.op.Tanh!([a!]), b.op.Softplus!([a!])]],
  ['LeakyRelu', [x([8], awayFrom([0]))], (b, [a]) => b.op.LeakyRelu!([a!], { alpha: 0.1 })],
  [
    'Clip (ReLU6)',
    [x([10], (z) => awayFrom([0, 6])(z * 4))],
    (b, [a]) => b.op.Clip!([a!, b.constant(0), b.constant(6)]),
  ],
  ['HardSigmoid', [x([10], (z) => awayFrom([-2.5, 2.5])(z * 2))], (b, [a]) => b.op.HardSigmoid!([a!])],
  ['HardSwish', [x([10], (z) => awayFrom([-3, 3])(z * 3))], (b, [a]) => b.op.HardSwish!([a!])],
  ['Max/Min', [x([3, 4]), y([4])], (b, [a, c]) => [b.op.Max!([a!, c!]), b.op.Min!([a!, c!])]],
  ['Sum/Mean variadic broadcast', [x([2, 3]), y([3])], (b, [a, c]) => [b.op.Sum!([a!, c!, a!]), b.op.Mean!([a!, c!])]],
  ['Where', [x([2, 3]), y([3])], (b, [a, c]) => b.op.Where!([b.op.Greater!([a!, 0]), a!, c!])],
  ['Expand', [x([3, 1])], (b, [a]) => b.op.Expand!([a!, b.constant([2, 3, 4], 'int64')])],
  ['Softmax axis -1', [x([3, 5])], (b, [a]) => b.op.Softmax!([a!], { axis: -1 })],
  ['Softmax axis 1 of 3-D', [x([2, 3, 4])], (b, [a]) => b.op.Softmax!([a!], { axis: 1 })],
  ['LogSoftmax', [x([4, 6])], (b, [a]) => b.op.LogSoftmax!([a!], { axis: 1 })],
  ['ReduceMean keepdims 0', [x([2, 3, 4])], (b, [a]) => b.reduceMean(a!, [0, 2], false)],
  ['ReduceSum negative axis', [x([2, 3, 4])], (b, [a]) => b.reduceSum(a!, [-1], true)],
  ['ReduceMax', [x([3, 5])], (b, [a]) => b.op.ReduceMax!([a!, b.constant([1], 'int64')], { keepdims: 0 })],
  [
    'ReduceL2 and ReduceSumSquare',
    [x([3, 4])],
    (b, [a]) => [
      b.op.ReduceL2!([a!, b.constant([1], 'int64')]),
      b.op.ReduceSumSquare!([a!, b.constant([0], 'int64')], { keepdims: 0 }),
    ],
  ],
  [
    'Flatten/Reshape/Squeeze/Unsqueeze',
    [x([2, 3, 1, 2])],
    (b, [a]) => [
      b.op.Flatten!([a!], { axis: 2 }),
      b.reshape(a!, [3, 4]),
      b.op.Squeeze!([a!, b.constant([2], 'int64')]),
      b.op.Unsqueeze!([a!, b.constant([0], 'int64')]),
    ],
  ],
  ['Transpose', [x([2, 3, 4])], (b, [a]) => b.transpose(a!, [2, 0, 1])],
  ['Concat axis -1', [x([2, 3]), y([2, 2])], (b, [a, c]) => b.op.Concat!([a!, c!, a!], { axis: -1 })],
  [
    'Split with one unused output',
    [x([2, 7])],
    (b, [a]) => b.node('Split', [a!, b.constant([3, 4], 'int64')], { axis: 1 }, { outputs: 2 })[1]!,
  ],
  [
    'Slice negative start, axes',
    [x([3, 8])],
    (b, [a]) =>
      b.op.Slice!([a!, b.constant([1, -5], 'int64'), b.constant([3, 7], 'int64'), b.constant([0, 1], 'int64')]),
  ],
  ['Pad constant', [x([2, 3])], (b, [a]) => b.op.Pad!([a!, b.constant([1, 0, 2, 3], 'int64')])],
  ['Cast through float64', [x([4])], (b, [a]) => b.op.Cast!([b.op.Cast!([a!], { to: 11 })], { to: 1 })],
  ['Identity', [x([3])], (b, [a]) => b.op.Identity!([a!])],
];

for (const [name, inputs, build] of cases) {
  test(name, async () => {
    const r = await gradcheck({ inputs, build }, rt);
    assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
  });
}
