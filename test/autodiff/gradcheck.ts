// Finite-difference gradient checking through onnxruntime: the harness every gradient rule is tested with.
import { appendFileSync } from 'node:fs';
import { backward } from '../../src/autodiff/backward.js';
import {
  addInput,
  Builder,
  Graph,
  newModel,
  serializeModel,
  Tensor,
  type Node,
  type Value,
} from '../../src/ir/index.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';

// A seeded normal generator so checks repeat exactly.
export function randn(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export interface CheckInput {
  name: string;
  shape: number[];
  // 'positive' keeps values away from 0 (log, sqrt, div); a function maps a normal sample.
  init?: 'randn' | 'positive' | ((z: number, i: number) => number);
  // false: no gradient is checked (e.g. an integer index or a constant operand).
  grad?: boolean;
  dtype?: 'float32' | 'int64';
  values?: number[];
}

export interface CheckCase {
  inputs: CheckInput[];
  build: (b: Builder, ins: Value[]) => Value | Value[];
  eps?: number;
  rtol?: number;
  atol?: number;
  directions?: number;
  seed?: number;
  // Runs on the graph after autodiff, before it is serialised (e.g. lowering the compiler's pseudo-ops).
  lower?: (g: Graph) => void;
  // Values marked stop-gradient while `build` runs (a term's own sg(·)); filled by build, read by the backward pass.
  stopGradient?: Set<Value>;
  // The model's opset (default 18); ops newer than that (Gelu, opset 20; GroupNormalization-21) need it raised.
  opset?: number;
}

export interface CheckResult {
  // Worst |fd - analytic| / (atol + rtol * scale) over all directions; <= 1 passes.
  worst: number;
  details: string[];
}

// The rules a check exercises, as GRAD_RULES keys (`domain:opType`): the case's own nodes (not the harness's
// projection to a scalar) that lie on a path from a differentiated input to an output. rules-registry.test.ts
// collects them from every check (GRADCHECK_RECORD) and fails on a registered rule that none exercises.
export function differentiatedOps(nodes: readonly Node[], from: Value[], to: Value[]): string[] {
  const live = new Set<Value>(from);
  const forward = new Set<Node>();
  for (const n of nodes)
    if (n.inputs.some((v) => v && live.has(v))) {
      forward.add(n);
      n.outputs.forEach((v) => live.add(v));
    }
  const needed = new Set<Value>(to);
  const keys = new Set<string>();
  for (const n of [...nodes].reverse()) {
    if (!forward.has(n) || !n.outputs.some((v) => needed.has(v))) continue;
    n.inputs.forEach((v) => v && needed.add(v));
    keys.add(`${n.domain === 'ai.onnx' ? '' : n.domain}:${n.opType}`);
  }
  return [...keys].sort();
}

// Check every differentiable input's gradient along random directions by central differences in float32 (loss in float64).
export async function gradcheck(c: CheckCase, rt?: Runtime): Promise<CheckResult> {
  const g = new Graph('gradcheck');
  const b = new Builder(g);
  const rnd = randn(c.seed ?? 1234);
  const ins = c.inputs.map((i) => addInput(g, i.name, i.dtype ?? 'float32', i.shape));
  const outs = [c.build(b, ins)].flat();
  const checked = differentiatedOps(
    g.nodes,
    ins.filter((_, i) => c.inputs[i]!.grad !== false),
    outs,
  );
  const terms = outs.map((o, k) => {
    const r = Tensor.float32(
      o.shape,
      Array.from({ length: o.shape.reduce((p, d) => p * d, 1) }, () => rnd()),
    );
    return b.scoped(`term${k}`).op.ReduceSum!([b.op.Cast!([b.mul(o, b.constant(r))], { to: 11 })], { keepdims: 0 });
  });
  const loss = terms.length === 1 ? terms[0]! : b.op.Sum!(terms);
  const wrt = ins.filter((_, i) => c.inputs[i]!.grad !== false && (c.inputs[i]!.dtype ?? 'float32') === 'float32');
  const grads = backward(g, { loss, wrt, ...(c.stopGradient ? { stopGradient: c.stopGradient } : {}) });
  g.outputs = [
    b.identity(loss, 'loss'),
    ...wrt.map((w) => b.identity(grads.get(w) ?? b.op.Mul!([w, 0]), `grad_${w.name}`)),
  ];
  if (process.env.GRADCHECK_RECORD) appendFileSync(process.env.GRADCHECK_RECORD, checked.map((k) => `${k}\n`).join(''));
  if (process.env.GRADCHECK_DRY) return { worst: 0, details: ['dry run: graph built and differentiated, not run'] };
  c.lower?.(g);
  const bytes = serializeModel(newModel(g, c.opset ?? 18)).onnx;
  const own = !rt;
  const runtime = rt ?? new Runtime({ threads: 1 });
  try {
    const s = await runtime.session(bytes, 'gradcheck graph');
    const base: Record<string, TensorData> = {};
    c.inputs.forEach((i) => {
      const n = i.shape.reduce((p, d) => p * d, 1);
      if (i.dtype === 'int64') {
        base[i.name] = { type: 'int64', dims: i.shape, data: BigInt64Array.from((i.values ?? []).map(BigInt)) };
        return;
      }
      const init = i.init ?? 'randn';
      const v =
        i.values ??
        Array.from({ length: n }, (_, k) => {
          const z = rnd();
          return init === 'randn' ? z : init === 'positive' ? 0.5 + Math.abs(z) : init(z, k);
        });
      base[i.name] = { type: 'float32', dims: i.shape, data: Float32Array.from(v) };
    });
    const clone = (f: Record<string, TensorData>) =>
      Object.fromEntries(Object.entries(f).map(([k, t]) => [k, { ...t, data: t.data.slice() } as TensorData]));
    const res = await s.run(clone(base));
    const eps = c.eps ?? 1e-2;
    const rtol = c.rtol ?? 1e-2;
    const atol = c.atol ?? 1e-3;
    let worst = 0;
    const details: string[] = [];
    for (const w of wrt) {
      const gw = res[`grad_${w.name}`]!.data as Float32Array;
      const x0 = base[w.name]!.data as Float32Array;
      for (let d = 0; d < (c.directions ?? 3); d++) {
        const dir = Float32Array.from(x0, () => rnd());
        const norm = Math.sqrt(dir.reduce((p, v) => p + v * v, 0)) || 1;
        for (let k = 0; k < dir.length; k++) dir[k]! /= norm;
        const at = async (sign: number) => {
          const f = clone(base);
          const xd = f[w.name]!.data as Float32Array;
          for (let k = 0; k < xd.length; k++) xd[k] = x0[k]! + sign * eps * dir[k]!;
          const r = await s.run(f, ['loss']);
          return Number(r.loss!.data[0]);
        };
        const fd = ((await at(1)) - (await at(-1))) / (2 * eps);
        let an = 0;
        for (let k = 0; k < dir.length; k++) an += gw[k]! * dir[k]!;
        const ratio = Math.abs(fd - an) / (atol + rtol * Math.max(Math.abs(fd), Math.abs(an)));
        worst = Math.max(worst, ratio);
        details.push(`${w.name} dir${d}: fd=${fd.toPrecision(6)} analytic=${an.toPrecision(6)}`);
      }
    }
    await s.release();
    return { worst, details };
  } finally {
    if (own) await runtime.close();
  }
}
