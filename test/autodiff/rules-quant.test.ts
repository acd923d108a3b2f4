// The FakeQuantize pseudo-op's straight-through gradient (src/autodiff/rules/FakeQuantize.ts). Rounding has no useful
// derivative, so finite differences check the rule against the function the STE differentiates by definition: its
// surrogate clamp(x, lo, hi) over the representable range (lowered in place of the op for the check), on points away
// from the range's ends. A direct check then runs the real lowering (QuantizeLinear→DequantizeLinear) and compares
// values and gradients with the formulas computed here (PyTorch's fake_quantize_per_tensor_affine and its cachemask
// backward).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { backward } from '../../src/autodiff/backward.js';
import { PSEUDO_DOMAIN } from '../../src/autodiff/pseudo.js';
import { expandFakeQuant } from '../../src/compiler/fakeQuant.js';
import { addInput, Builder, Graph, newModel, serializeModel, Tensor, type Value } from '../../src/ir/index.js';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck, type CheckCase } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

async function check(name: string, c: CheckCase): Promise<void> {
  const r = await gradcheck(c, rt);
  assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
}

function fakeQuant(b: Builder, x: Value, scale: Value, zero: Value, attrs: Record<string, number>): Value {
  const [y] = b.node('FakeQuantize', [x, scale, zero], attrs, { domain: PSEUDO_DOMAIN });
  y!.type = { dtype: 'float32', shape: [...x.shape] };
  return y!;
}

// Replace each FakeQuantize by its straight-through surrogate: clamp to the inputs that round into [qmin, qmax]
// (per channel, with the scale from each channel's max, every weight does: the identity).
function lowerToSurrogate(g: Graph): void {
  for (const n of [...g.nodes].filter((m) => m.opType === 'FakeQuantize')) {
    const b = new Builder(g, `${n.name}/surrogate`);
    const x = n.input(0);
    const perTensor = n.input(1).rank === 0;
    const s = perTensor ? n.input(1).constant!.toNumbers() : [];
    const z = perTensor ? n.input(2).constant!.toNumbers() : [];
    const qmin = n.attrInt('qmin'),
      qmax = n.attrInt('qmax');
    const y = perTensor
      ? b.op.Clip!([x, b.constant((qmin - z[0]! - 0.5) * s[0]!), b.constant((qmax - z[0]! + 0.5) * s[0]!)])
      : b.identity(x);
    const out = n.outputs[0]!;
    g.removeNode(n);
    g.replaceAllUses(out, y);
  }
}

// uint8 at scale 0.05, zero point 100: inputs that round inside lie in [−5.025, 7.775); points kept 0.05 from its ends.
const S = 0.05,
  Z = 100;
const LO = (0 - Z - 0.5) * S,
  HI = (255 - Z + 0.5) * S;
const awayFromEnds = (z: number) => {
  const v = 5 * z;
  return Math.abs(v - LO) < 0.05 ? LO - 0.1 : Math.abs(v - HI) < 0.05 ? HI + 0.1 : v;
};

test('FakeQuantize per tensor (uint8 activations): the clipped straight-through gradient', () =>
  check('FakeQuantize per tensor', {
    inputs: [{ name: 'x', shape: [4, 3, 5], init: awayFromEnds }],
    build: (b, [x]) =>
      fakeQuant(b, x!, b.constant(Tensor.float32([], [S])), b.constant(new Tensor('uint8', [], Uint8Array.of(Z))), {
        qmin: 0,
        qmax: 255,
      }),
    lower: lowerToSurrogate,
  }));

test('FakeQuantize per channel (int8 weights, scale from each channel’s max): the identity gradient', () =>
  check('FakeQuantize per channel', {
    inputs: [{ name: 'w', shape: [3, 2, 3, 3] }],
    build: (b, [w]) => {
      const amax = b.op.ReduceMax!([b.op.Abs!([w!]), b.constant([1, 2, 3], 'int64')], { keepdims: 0 });
      const zero = b.constant(new Tensor('int8', [3], new Int8Array(3)));
      return fakeQuant(b, w!, b.div(amax, 63), zero, { axis: 0, qmin: -63, qmax: 63 });
    },
    lower: lowerToSurrogate,
  }));

test('FakeQuantize lowered to QuantizeLinear→DequantizeLinear: values and STE gradient by the formulas', async () => {
  const n = 64;
  const xs = Float32Array.from({ length: n }, (_, i) => -7 + (i * 16) / n + 0.013);
  const rs = Float32Array.from({ length: n }, (_, i) => 1 + (i % 5));
  const g = new Graph('fq');
  const b = new Builder(g);
  const x = addInput(g, 'x', 'float32', [n]);
  const y = fakeQuant(
    b,
    x,
    b.constant(Tensor.float32([], [S])),
    b.constant(new Tensor('uint8', [], Uint8Array.of(Z))),
    {
      qmin: 0,
      qmax: 255,
    },
  );
  const loss = b.op.ReduceSum!([b.mul(y, b.constant(Tensor.float32([n], rs)))], { keepdims: 0 });
  const grads = backward(g, { loss, wrt: [x] });
  g.outputs = [b.identity(y, 'y'), b.identity(grads.get(x)!, 'grad_x')];
  expandFakeQuant(g);
  assert.ok(g.nodes.some((m) => m.opType === 'QuantizeLinear') && !g.nodes.some((m) => m.domain !== ''));
  const s = await rt.session(serializeModel(newModel(g, 18)).onnx, 'fake quant');
  const r = await s.run({ x: { type: 'float32', dims: [n], data: xs } });
  await s.release();
  const yv = r.y!.data as Float32Array,
    gv = r.grad_x!.data as Float32Array;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.round(xs[i]! / S) + Z;
    const want = (Math.min(255, Math.max(0, q)) - Z) * S;
    assert.ok(Math.abs(yv[i]! - want) < 1e-6, `y[${i}] = ${yv[i]}, want ${want}`);
    const pass = q >= 0 && q <= 255;
    assert.equal(gv[i], pass ? rs[i] : 0, `grad[${i}] at x = ${xs[i]}`);
    if (pass) inside++;
  }
  assert.ok(inside > 10 && inside < n - 10, `both sides of the range are exercised (${inside} of ${n} inside)`);
});
