// The WebGPU lowering of the MaxPool gradient (first-maximum masks instead of the forward's Indices output), run on the
// CPU: finite differences on tie-free inputs, PyTorch's gradient on inputs full of ties (PyTorch routes a window's
// gradient to its FIRST maximum; test/fixtures/maxpool_ties.json, scripts/fixtures/maxpool_ties.py), the unlowered
// indices gradient, and two whole training steps of a zoo CNN with three max pools.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { backward } from '../../src/autodiff/backward.js';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { addInput, Builder, Graph, newModel, serializeModel, type Value } from '../../src/ir/index.js';
import { parseModel } from '../../src/ir/model.js';
import { inferShapes } from '../../src/ir/passes/shapes.js';
import { lowerMaxPoolIndices } from '../../src/runtime/lower/maxpoolMask.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';
import { gradcheck } from '../autodiff/gradcheck.js';
import { assertClose } from '../helpers/close.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

const lower = (g: Graph) => {
  inferShapes(g);
  assert.ok(lowerMaxPoolIndices(g) >= 1, 'no MaxPool was lowered');
  assert.ok(
    !g.nodes.some((n) => n.opType === 'MaxPool' && n.outputs.length > 1),
    'a MaxPool still has an Indices output',
  );
  assert.ok(!g.nodes.some((n) => n.opType === 'ScatterElements'), 'the scatter is still there');
};

const pools: [string, number[], Record<string, number[] | number>][] = [
  ['2x2 stride 2 on an odd size', [2, 3, 7, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
  [
    '3x3 stride 2 pad 1 ceil_mode (overlapping)',
    [2, 3, 7, 6],
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  ],
  ['3x2 stride 1 asymmetric pads', [1, 2, 5, 6], { kernel_shape: [3, 2], pads: [1, 0, 0, 1] }],
  ['2x2 stride 1 dilation 2', [1, 2, 6, 6], { kernel_shape: [2, 2], dilations: [2, 2] }],
];

for (const [name, shape, attrs] of pools) {
  test(`lowered MaxPool gradient, finite differences: ${name}`, async () => {
    // Distinct values 0.1 apart (as the rule's own check): no ties, so each max is stable under the ±eps perturbation.
    const n = shape.reduce((p, d) => p * d, 1);
    const r = await gradcheck(
      {
        inputs: [{ name: 'x', shape, init: (_z, i) => ((i * 37) % n) * 0.1 - n * 0.05 }],
        build: (b, [x]) => b.op.MaxPool!([x!], attrs),
        lower,
      },
      rt,
    );
    assert.ok(r.worst <= 1, `worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
  });
}

interface TieCase {
  name: string;
  shape: number[];
  kernel: number;
  stride: number;
  pad: number;
  dilation: number;
  ceil_mode: boolean;
  x: number[];
  r: number[];
  y_shape: number[];
  y: number[];
  dx: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/maxpool_ties.json', import.meta.url), 'utf8')) as {
  cases: TieCase[];
};

// dx of sum(MaxPool(x) · r) by the autodiff, with or without the lowering.
async function poolGradient(c: TieCase, lowered: boolean): Promise<{ y: Float32Array; dx: Float32Array }> {
  const g = new Graph('maxpool_ties');
  const b = new Builder(g);
  const x = addInput(g, 'x', 'float32', c.shape);
  const r = addInput(g, 'r', 'float32', c.y_shape);
  const p = c.pad;
  const y = b.op.MaxPool!([x], {
    kernel_shape: [c.kernel, c.kernel],
    strides: [c.stride, c.stride],
    pads: [p, p, p, p],
    dilations: [c.dilation, c.dilation],
    ceil_mode: c.ceil_mode ? 1 : 0,
  });
  const loss = b.op.ReduceSum!([b.mul(y, r)], { keepdims: 0 });
  const dx: Value = backward(g, { loss, wrt: [x] }).get(x)!;
  g.outputs = [b.identity(y, 'y'), b.identity(dx, 'dx')];
  if (lowered) lower(g);
  const s = await rt.session(serializeModel(newModel(g, 18)).onnx, c.name);
  const out = await s.run({
    x: { type: 'float32', dims: c.shape, data: Float32Array.from(c.x) },
    r: { type: 'float32', dims: c.y_shape, data: Float32Array.from(c.r) },
  });
  await s.release();
  return { y: out.y!.data as Float32Array, dx: out.dx!.data as Float32Array };
}

// Windows holding their maximum more than once, read from the fixture (pads never hold a maximum).
function tiedWindows(c: TieCase): number {
  const [n, ch, h, w] = c.shape as [number, number, number, number];
  const [, , ho, wo] = c.y_shape as [number, number, number, number];
  let tied = 0;
  for (let plane = 0; plane < n * ch; plane++) {
    for (let i = 0; i < ho * wo; i++) {
      const ymax = c.y[plane * ho * wo + i]!;
      let hits = 0;
      for (let a = 0; a < c.kernel; a++) {
        for (let b = 0; b < c.kernel; b++) {
          const [r, q] = [
            Math.floor(i / wo) * c.stride - c.pad + a * c.dilation,
            (i % wo) * c.stride - c.pad + b * c.dilation,
          ];
          if (r >= 0 && r < h && q >= 0 && q < w && c.x[plane * h * w + r * w + q] === ymax) hits++;
        }
      }
      if (hits > 1) tied++;
    }
  }
  return tied;
}

for (const c of fixture.cases) {
  test(`lowered MaxPool gradient equals PyTorch's on ties (first maximum wins): ${c.name}`, async () => {
    const lowered = await poolGradient(c, true);
    assertClose('y', lowered.y, c.y, 0, 0);
    assertClose('dx (lowered)', lowered.dx, c.dx, 1e-6, 1e-6);
    const indices = await poolGradient(c, false);
    assertClose('dx (indices)', indices.dx, c.dx, 1e-6, 1e-6);
    // The fixture has windows with tied maxima (which a plain equality mask would double-count): guard that it does.
    assert.ok(tiedWindows(c) > 0, 'the fixture has no window with a tied maximum');
  });
}

test('lowered CE step of zoo:cnn-tiny (three 2x2 max pools) equals the indices step on the CPU, two steps', async () => {
  const batch = 4;
  const model = resolveModelSpec('zoo:cnn-tiny', { input: [1, 16, 16], classes: 10, seed: 3 });
  const step = compileTrainStep({
    model,
    batch,
    terms: [{ term: 'ce' }],
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  const m = parseModel(step.bytes);
  inferShapes(m.graph);
  assert.equal(lowerMaxPoolIndices(m.graph), 3);
  const loweredBytes = serializeModel(m).onnx;
  // Pixel values on a coarse grid, so windows hold ties.
  const x = Float32Array.from({ length: batch * 256 }, (_, i) => Math.round(Math.sin(i * 0.7) * 2) / 2);
  const labels = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) labels[i * 10 + ((i * 3) % 10)] = 1;
  const fetch = ['loss', 'logits.model', ...Object.keys(step.carry)];
  const runTwo = async (bytes: Uint8Array) => {
    await rt.clearState();
    await rt.setState(initialState(step));
    const s = await rt.session(bytes, 'step', { portable: true });
    const out: Record<string, TensorData>[] = [];
    for (let k = 0; k < 2; k++) {
      out.push(
        await s.run(
          {
            [step.inputName]: { type: 'float32', dims: [batch, 1, 16, 16], data: x.slice() },
            labels: { type: 'float32', dims: [batch, 10], data: labels.slice() },
            lr: { type: 'float32', dims: [], data: Float32Array.of(0.1) },
            w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
          },
          fetch,
          step.carry,
        ),
      );
    }
    await s.release();
    return out;
  };
  const want = await runTwo(step.bytes);
  const got = await runTwo(loweredBytes);
  for (let k = 0; k < 2; k++) {
    for (const name of fetch)
      assertClose(
        `step ${k + 1} ${name}`,
        got[k]![name]!.data as Float32Array,
        Array.from(want[k]![name]!.data as Float32Array),
        1e-6,
        1e-5,
      );
  }
});
