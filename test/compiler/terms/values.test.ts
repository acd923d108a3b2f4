// Every loss term against an independent PyTorch computation (test/fixtures/loss_terms.json, made by
// scripts/fixtures/loss_terms.py from code that follows RepDistiller and mdistiller): same float32 inputs and regressor
// weights, value within rtol 1e-4 / atol 1e-6, and the stored gradients (student; fitnet also its regressor) likewise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { backward } from '../../../src/autodiff/backward.js';
import { termByName } from '../../../src/compiler/terms/index.js';
import { Builder, newModel, serializeModel } from '../../../src/ir/index.js';
import { runOnce } from '../../../src/runtime/session.js';
import type { TensorData } from '../../../src/runtime/tensor.js';
import { buildTermGraph, labelShape, lowerForRun, type TermCase } from './harness.js';

interface T {
  shape: number[];
  values: number[];
}
interface Case {
  name: string;
  term: string;
  options: Record<string, number>;
  inputs: Record<string, T>;
  value: number;
  grads: Record<string, T>;
  labels?: number[];
  params?: Record<string, T>;
  // Scheduled scalar inputs of the term (ctkd's λ), fed as `in.<key>`.
  scalars?: Record<string, number>;
  // CRD: its buffers' values, its per-batch int64 inputs and its buffers after the step (module.carry).
  buffers?: Record<string, T>;
  batch?: Record<string, number[]>;
  after?: Record<string, T>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/loss_terms.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

const RTOL = 1e-4;
const ATOL = 1e-6;
const f32 = (t: T): TensorData => ({ type: 'float32', dims: t.shape, data: Float32Array.from(t.values) });

// Worst |got − want| / (atol + rtol·|want|) with the absolute and relative error there, for the assertion and the report.
function compare(got: ArrayLike<number>, want: number[]): { ratio: number; abs: number; rel: number; at: number } {
  assert.equal(got.length, want.length);
  let worst = { ratio: 0, abs: 0, rel: 0, at: 0 };
  for (let i = 0; i < want.length; i++) {
    const abs = Math.abs(got[i]! - want[i]!);
    const ratio = abs / (ATOL + RTOL * Math.abs(want[i]!));
    if (ratio >= worst.ratio) worst = { ratio, abs, rel: abs / Math.max(Math.abs(want[i]!), 1e-30), at: i };
  }
  return worst;
}

for (const c of fixture.cases) {
  test(`${c.name}: value${Object.keys(c.grads).length ? ' and gradients' : ''} match PyTorch`, async () => {
    const tc: TermCase = {
      term: termByName(c.term),
      options: c.options,
      shapes: Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, t.shape])),
      ...(c.scalars ? { inputs: c.scalars } : {}),
      ...(c.buffers ? { buffers: Object.fromEntries(Object.entries(c.buffers).map(([k, t]) => [k, t.values])) } : {}),
      ...(c.batch ? { batch: c.batch } : {}),
    };
    const built = buildTermGraph(tc);
    const g = built.graph;
    const b = new Builder(g);
    const wrt = Object.keys(c.grads).map((name) => g.inputs.find((v) => v.name === name)!);
    const grads = wrt.length ? backward(g, { loss: built.loss, wrt, stopGradient: built.stop }) : new Map();
    const afterNames = Object.keys(c.after ?? {});
    assert.deepEqual(Object.keys(built.nexts).sort(), afterNames.sort(), `${c.name}: the buffers the term updates`);
    g.outputs = [
      b.identity(built.loss, 'loss'),
      ...wrt.map((w) => b.identity(grads.get(w)!, `grad_${w.name}`)),
      ...afterNames.map((k) => b.identity(built.nexts[k]!, `after_${k}`)),
    ];
    lowerForRun(g);
    const [n, k] = labelShape(tc);
    const onehot = new Float32Array(n! * k!);
    c.labels?.forEach((y, i) => {
      onehot[i * k! + y] = 1;
    });
    const feeds: Record<string, TensorData> = { labels: { type: 'float32', dims: [n!, k!], data: onehot } };
    for (const [name, t] of Object.entries(c.inputs)) feeds[name] = f32(t);
    for (const [k, v] of Object.entries(c.scalars ?? {}))
      feeds[`in.${k}`] = { type: 'float32', dims: [], data: Float32Array.of(v) };
    for (const p of built.params) {
      const t = c.params?.[p.name];
      assert.ok(t, `${c.name}: the fixture has no weights for parameter '${p.name}'`);
      feeds[p.name] = f32(t);
    }
    const res = await runOnce(serializeModel(newModel(g, 18)).onnx, feeds, { threads: 1 });
    const report: string[] = [];
    const v = compare(res.loss!.data as Float32Array, [c.value]);
    report.push(
      `value ${(res.loss!.data[0] as number).toPrecision(8)} vs ${c.value.toPrecision(8)} abs ${v.abs.toExponential(2)} rel ${v.rel.toExponential(2)}`,
    );
    assert.ok(v.ratio <= 1, `${c.name}: value ${res.loss!.data[0]}, PyTorch ${c.value}`);
    for (const [name, want] of Object.entries(c.grads)) {
      const e = compare(res[`grad_${name}`]!.data as Float32Array, want.values);
      report.push(`d/d${name} abs ${e.abs.toExponential(2)} rel ${e.rel.toExponential(2)}`);
      assert.ok(
        e.ratio <= 1,
        `${c.name}: d/d${name}[${e.at}] off by ${e.abs} (ratio ${e.ratio.toFixed(2)}), PyTorch ${want.values[e.at]}`,
      );
    }
    for (const [k, want] of Object.entries(c.after ?? {})) {
      const e = compare(res[`after_${k}`]!.data as Float32Array, want.values);
      report.push(`${k} after abs ${e.abs.toExponential(2)}`);
      assert.ok(e.ratio <= 1, `${c.name}: ${k} after the step [${e.at}] off by ${e.abs}, PyTorch ${want.values[e.at]}`);
    }
    if (process.env.TERMS_VERBOSE) console.error(`${c.name}: ${report.join('; ')}`);
  });
}
