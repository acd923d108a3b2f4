// Finite-difference checks of the element-wise, activation and reduction rules (broadcasting, negative axes, kinks avoided),
// plus direct checks where finite differences cannot reach: training-mode Dropout (random mask) and opset-20 Gelu.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { backward } from '../../src/autodiff/backward.js';
import {
  addInput,
  Builder,
  eliminateDeadCode,
  Graph,
  newModel,
  serializeModel,
  Tensor,
  type Value,
} from '../../src/ir/index.js';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck, type CheckInput } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

type Case = [string, CheckInput[], (b: Builder, v: Value[]) => Value | Value[]];
const x = (shape: number[], init?: CheckInput['init']): CheckInput => ({ name: 'x', shape, ...(init ? { init } : {}) });
const y = (shape: number[], init?: CheckInput['init']): CheckInput => ({ name: 'y', shape, ...(init ? { init } : {}) });
const z = (shape: number[], init?: CheckInput['init']): CheckInput => ({ name: 'z', shape, ...(init ? { init } : {}) });
// Normal samples scaled by s and pushed at least 0.15 away from each kink.
const awayFrom =
  (points: number[], s = 2) =>
  (v: number) => {
    let u = v * s;
    for (const p of points) if (Math.abs(u - p) < 0.15) u = p + (u >= p ? 0.15 : -0.15) + (u - p);
    return u;
  };
// Distinct values (no ties) for max/min-style ops: a shuffled ramp with jitter.
const distinct = (v: number, i: number) => ((i * 7919) % 23) * 0.37 - 4 + v * 0.01;
const i64 = (b: Builder, v: number[]) => b.constant(v, 'int64');

const cases: Case[] = [
  [
    'Sub: [2,3,4] - [3,1] and [3,1] - [2,3,4]',
    [x([2, 3, 4]), y([3, 1])],
    (b, [a, c]) => [b.sub(a!, c!), b.sub(c!, a!)],
  ],
  ['Div: both operands broadcast', [x([2, 1, 4]), y([3, 1], 'positive')], (b, [a, c]) => b.div(a!, c!)],
  ['Div: scalar numerator', [x([]), y([3, 2], 'positive')], (b, [a, c]) => b.div(a!, c!)],
  ['Neg', [x([2, 3])], (b, [a]) => b.neg(a!)],
  ['Exp', [x([3, 5])], (b, [a]) => b.op.Exp!([a!])],
  ['Log', [x([4, 3], 'positive')], (b, [a]) => b.op.Log!([a!])],
  ['Sqrt', [x([7], 'positive')], (b, [a]) => b.op.Sqrt!([a!])],
  ['Reciprocal', [x([2, 5], 'positive')], (b, [a]) => b.op.Reciprocal!([a!])],
  [
    'Pow constant exponents 2, 3, 0.5, -1.5',
    [x([5], 'positive')],
    (b, [a]) => [2, 3, 0.5, -1.5].map((p) => b.op.Pow!([a!, b.constant(p)])),
  ],
  ['Pow on negative bases, integer exponent tensor', [x([6], awayFrom([0]))], (b, [a]) => b.op.Pow!([a!, i64(b, [3])])],
  [
    'Pow tensor exponent, broadcast both ways',
    [x([2, 1, 3], 'positive'), y([4, 1])],
    (b, [a, c]) => b.op.Pow!([a!, c!]),
  ],
  ['Abs', [x([3, 4], awayFrom([0]))], (b, [a]) => b.op.Abs!([a!])],
  [
    'Max/Min of two, broadcast [2,3,4] with [3,1]',
    [x([2, 3, 4], distinct), y([3, 1], (v, i) => distinct(v, i + 5) + 0.05)],
    (b, [a, c]) => [b.op.Max!([a!, c!]), b.op.Min!([a!, c!])],
  ],
  [
    'Max/Min variadic (three inputs)',
    [x([4, 3], distinct), y([3], (v, i) => distinct(v, i + 3) + 0.1), z([4, 1], (v, i) => distinct(v, i + 9) + 0.2)],
    (b, [a, c, d]) => [b.op.Max!([a!, c!, d!]), b.op.Min!([a!, c!, d!])],
  ],
  [
    'Sum variadic with broadcast and a repeated input',
    [x([2, 3, 4]), y([3, 1]), z([4])],
    (b, [a, c, d]) => b.op.Sum!([a!, c!, d!, a!]),
  ],
  ['Mean variadic with broadcast', [x([2, 3]), y([1, 3]), z([2, 1])], (b, [a, c, d]) => b.op.Mean!([a!, c!, d!])],
  [
    'Where: broadcast condition and branches',
    [x([2, 3, 4]), y([3, 1]), z([4])],
    (b, [a, c, d]) => b.op.Where!([b.op.Greater!([d!, 0]), a!, c!]),
  ],
  ['Relu', [x([3, 5], awayFrom([0]))], (b, [a]) => b.op.Relu!([a!])],
  ['LeakyRelu alpha 0.2', [x([3, 5], awayFrom([0]))], (b, [a]) => b.op.LeakyRelu!([a!], { alpha: 0.2 })],
  [
    'Clip with constant bounds (ReLU6) and min only',
    [x([4, 5], awayFrom([0, 6], 4))],
    (b, [a]) => [b.op.Clip!([a!, b.constant(0), b.constant(6)]), b.op.Clip!([a!, b.constant(0)])],
  ],
  [
    'Clip with max only (empty min input)',
    [x([9], awayFrom([1]))],
    (b, [a]) => b.op.Clip!([a!, undefined, b.constant(1)]),
  ],
  [
    'Clip: gradient to tensor bounds',
    [x([12], awayFrom([-0.5, 0.7], 1.5)), y([], () => -0.5), z([], () => 0.7)],
    (b, [a, lo, hi]) => b.op.Clip!([a!, lo!, hi!]),
  ],
  ['Sigmoid', [x([2, 7])], (b, [a]) => b.op.Sigmoid!([a!])],
  ['Tanh', [x([2, 7])], (b, [a]) => b.op.Tanh!([a!])],
  [
    'HardSigmoid default and alpha/beta',
    [x([12], awayFrom([-2.5, 2.5, -3, 2], 2.5))],
    (b, [a]) => [b.op.HardSigmoid!([a!]), b.op.HardSigmoid!([a!], { alpha: 1 / 6, beta: 0.5 })],
  ],
  ['HardSwish', [x([12], awayFrom([-3, 3], 3))], (b, [a]) => b.op.HardSwish!([a!])],
  ['Softmax axis -1', [x([3, 5])], (b, [a]) => b.op.Softmax!([a!], { axis: -1 })],
  [
    'Softmax axis 0 and 1 of 3-D',
    [x([2, 3, 4])],
    (b, [a]) => [b.op.Softmax!([a!], { axis: 0 }), b.op.Softmax!([a!], { axis: 1 })],
  ],
  [
    'LogSoftmax default axis and -2',
    [x([3, 4, 2])],
    (b, [a]) => [b.op.LogSoftmax!([a!]), b.op.LogSoftmax!([a!], { axis: -2 })],
  ],
  ['Identity', [x([3])], (b, [a]) => b.op.Identity!([a!])],
  [
    'Dropout inference (no training_mode, and training_mode false)',
    [x([3, 4])],
    (b, [a]) => [
      b.op.Dropout!([a!, b.constant(0.3)]),
      b.op.Dropout!([a!, b.constant(0.3), b.constant(new Tensor('bool', [], Uint8Array.from([0])))]),
    ],
  ],
  ['Softplus', [x([9])], (b, [a]) => b.op.Softplus!([a!])],
  ['Elu alpha 0.7', [x([9], awayFrom([0]))], (b, [a]) => b.op.Elu!([a!], { alpha: 0.7 })],
  ['Selu', [x([9], awayFrom([0]))], (b, [a]) => b.op.Selu!([a!])],
  ['Celu alpha 1.5', [x([9], awayFrom([0]))], (b, [a]) => b.op.Celu!([a!], { alpha: 1.5 })],
  ['PRelu per-channel slope', [x([2, 3, 4], awayFrom([0])), y([3, 1])], (b, [a, s]) => b.op.PRelu!([a!, s!])],
  ['Erf', [x([8])], (b, [a]) => b.op.Erf!([a!])],
  ['ReduceMean axes [0,2] keepdims 0', [x([2, 3, 4])], (b, [a]) => b.reduceMean(a!, [0, 2], false)],
  [
    'ReduceMean all axes (no axes input), negative axis',
    [x([3, 5])],
    (b, [a]) => [b.op.ReduceMean!([a!]), b.reduceMean(a!, [-1], true)],
  ],
  [
    'ReduceMax and ReduceMin, negative axis, keepdims 0',
    [x([3, 5], distinct)],
    (b, [a]) => [b.op.ReduceMax!([a!, i64(b, [-1])], { keepdims: 0 }), b.op.ReduceMin!([a!, i64(b, [0])])],
  ],
  ['ReduceL2 over two axes', [x([2, 3, 4])], (b, [a]) => b.op.ReduceL2!([a!, i64(b, [0, -1])])],
  ['ReduceSumSquare keepdims 0', [x([3, 4])], (b, [a]) => b.op.ReduceSumSquare!([a!, i64(b, [0])], { keepdims: 0 })],
  ['Cast round trip through float64', [x([4])], (b, [a]) => b.op.Cast!([b.op.Cast!([a!], { to: 11 })], { to: 1 })],
];

for (const [name, inputs, build] of cases) {
  test(name, async () => {
    const r = await gradcheck({ inputs, build }, rt);
    assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
  });
}

// Runs x -> f(x) -> sum(f(x) * r) and returns the outputs named in `outs` (grad_x is d loss / dx), after DCE.
async function runGrad(
  shape: number[],
  xs: Float32Array,
  rs: Float32Array,
  f: (b: Builder, x: Value) => { y: Value; extra?: Value[] },
  keepForward: boolean,
) {
  const g = new Graph('direct');
  const b = new Builder(g);
  const xv = addInput(g, 'x', 'float32', shape);
  const { y: yv, extra = [] } = f(b, xv);
  const loss = b.op.ReduceSum!([b.mul(yv, b.constant(Tensor.float32(yv.shape, rs)))], { keepdims: 0 });
  const grads = backward(g, { loss, wrt: [xv] });
  g.outputs = [
    b.identity(grads.get(xv)!, 'grad_x'),
    ...(keepForward ? [b.identity(yv, 'y'), ...extra.map((v, i) => b.identity(v, `extra${i}`))] : []),
  ];
  eliminateDeadCode(g);
  const s = await rt.session(serializeModel(newModel(g, 18)).onnx, 'direct');
  const res = await s.run({ x: { type: 'float32', dims: shape, data: xs } });
  await s.release();
  return res;
}

test('Dropout training mode: dx = dy * mask / (1 - ratio) with the forward mask (unnamed mask output too)', async () => {
  const n = 200;
  const xs = Float32Array.from({ length: n }, (_, i) => 1 + (i % 7));
  const rs = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 5));
  const on = b1(true);
  for (const withMask of [true, false]) {
    const res = await runGrad(
      [n],
      xs,
      rs,
      (b, xv) => {
        const outs = b.node('Dropout', [xv, b.constant(0.25), on(b)], {}, { outputs: withMask ? 2 : 1 });
        return { y: outs[0]! };
      },
      true,
    );
    const gx = res.grad_x!.data as Float32Array;
    const yv = res.y!.data as Float32Array;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      // y = x * mask / 0.75, so dx = r * mask / 0.75 = r * y / x.
      assert.ok(Math.abs(gx[i]! - (rs[i]! * yv[i]!) / xs[i]!) < 1e-4, `element ${i}: grad ${gx[i]} y ${yv[i]}`);
      if (yv[i] !== 0) kept++;
    }
    assert.ok(kept > 100 && kept < 200, `a random mask was drawn (kept ${kept} of ${n})`);
  }
});

function b1(v: boolean) {
  return (b: Builder) => b.constant(new Tensor('bool', [], Uint8Array.from([v ? 1 : 0])));
}

// erf to ~1e-7 (Abramowitz and Stegun 7.1.26 is 1.5e-7; enough against float32).
function erf(v: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(v));
  const p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(v) * (1 - p * Math.exp(-v * v));
}

test('Gelu (opset 20, both approximations) against its closed-form derivative', async () => {
  const n = 41;
  const xs = Float32Array.from({ length: n }, (_, i) => -4 + i * 0.2);
  const rs = Float32Array.from({ length: n }, (_, i) => 1 + (i % 3) * 0.5);
  const gelu = (v: number, tanh: boolean) =>
    tanh
      ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
      : 0.5 * v * (1 + erf(v / Math.SQRT2));
  for (const approximate of ['none', 'tanh']) {
    // The forward Gelu node is dropped by DCE (its gradient needs only x), so opset 18 onnxruntime can run the backward.
    const res = await runGrad([n], xs, rs, (b, xv) => ({ y: b.op.Gelu!([xv], { approximate }) }), false);
    const gx = res.grad_x!.data as Float32Array;
    for (let i = 0; i < n; i++) {
      const h = 1e-4;
      const want =
        (rs[i]! * (gelu(xs[i]! + h, approximate === 'tanh') - gelu(xs[i]! - h, approximate === 'tanh'))) / (2 * h);
      assert.ok(
        Math.abs(gx[i]! - want) < 2e-3 * (1 + Math.abs(want)),
        `${approximate} x=${xs[i]}: ${gx[i]} vs ${want}`,
      );
    }
  }
});

test('Gelu (opset 20, both approximations) matches central differences', async () => {
  for (const approximate of ['none', 'tanh']) {
    const r = await gradcheck(
      { inputs: [x([3, 7])], build: (b, [a]) => b.op.Gelu!([a!], { approximate }), opset: 20 },
      rt,
    );
    assert.ok(r.worst <= 1, `Gelu ${approximate}: worst ratio ${r.worst}\n${r.details.join('\n')}`);
  }
});

test('ties: Max/Min split dy evenly between equal inputs, ReduceMax evenly between equal maxima', async () => {
  const xs = Float32Array.from([1, 2, 3, 2, 5, 5]);
  const c = Tensor.float32([6], [1, 0, 3, 4, 5, 0]);
  const rs = Float32Array.from([2, 4, 6, 8, 10, 12]);
  const max = await runGrad([6], xs, rs, (b, xv) => ({ y: b.op.Max!([xv, b.constant(c)]) }), false);
  assert.deepEqual(Array.from(max.grad_x!.data as Float32Array), [1, 4, 3, 0, 5, 12]);
  const min = await runGrad([6], xs, rs, (b, xv) => ({ y: b.op.Min!([xv, b.constant(c)]) }), false);
  assert.deepEqual(Array.from(min.grad_x!.data as Float32Array), [1, 0, 3, 8, 5, 0]);
  // Rows [1, 2, 3] and [2, 5, 5]: the second row's two maxima share its dy.
  const rmax = await runGrad(
    [2, 3],
    xs,
    Float32Array.from([3, 8]),
    (b, xv) => ({ y: b.op.ReduceMax!([xv, b.constant([1], 'int64')], { keepdims: 0 }) }),
    false,
  );
  assert.deepEqual(Array.from(rmax.grad_x!.data as Float32Array), [0, 0, 3, 0, 4, 4]);
});
