import type { Builder } from '../../ir/builder.js';
import type { Node, Value } from '../../ir/graph.js';
import { normAxis } from '../../ir/shapes/util.js';
import { Tensor } from '../../ir/tensor.js';
import { UserError } from '../../util/errors.js';
import type { GradRuleDef } from '../types.js';

// Source coordinate of output index i on one axis (ONNX Resize coordinate_transformation_mode).
function sourceCoord(mode: string, i: number, n: number, m: number, s: number, label: string): number {
  switch (mode) {
    case 'half_pixel':
      return (i + 0.5) / s - 0.5;
    case 'pytorch_half_pixel':
      return m > 1 ? (i + 0.5) / s - 0.5 : 0;
    case 'align_corners':
      return m === 1 ? 0 : (i * (n - 1)) / (m - 1);
    case 'asymmetric':
      return i / s;
    case 'tf_half_pixel_for_nn':
      return (i + 0.5) / s;
    case 'half_pixel_symmetric': {
      const adj = m / (s * n);
      return (n / 2) * (1 - adj) + (i + 0.5) / s - 0.5;
    }
    default:
      throw new UserError(
        `${label}: gradient of Resize with coordinate_transformation_mode '${mode}' is not supported`,
      );
  }
}

function nearestIndex(mode: string, x: number): number {
  switch (mode) {
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
  }
}

// Keys' cubic convolution kernel with coefficient a, at distance t.
function cubic(a: number, t: number): number {
  const u = Math.abs(t);
  if (u <= 1) return ((a + 2) * u - (a + 3)) * u * u + 1;
  if (u < 2) return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
  return 0;
}

// The 1-D resampling matrix W [m, n] of one axis (y = W x along the axis), as onnxruntime computes it:
// linear clamps the source coordinate into [0, n-1]; nearest and cubic clamp neighbour indices (edge padding).
export function interpolationMatrix(node: Node, n: number, m: number, s: number): Float32Array {
  const mode = node.attrString('mode', 'nearest');
  const ct = node.attrString('coordinate_transformation_mode', 'half_pixel');
  const w = new Float32Array(m * n);
  const clampIdx = (k: number) => Math.min(Math.max(k, 0), n - 1);
  for (let i = 0; i < m; i++) {
    const x = sourceCoord(ct, i, n, m, s, node.label);
    if (mode === 'nearest') {
      w[i * n + clampIdx(nearestIndex(node.attrString('nearest_mode', 'round_prefer_floor'), x))] = 1;
    } else if (mode === 'linear') {
      const c = Math.min(Math.max(x, 0), n - 1);
      const lo = Math.min(Math.floor(c), n - 1);
      const hi = Math.min(lo + 1, n - 1);
      const f = c - lo;
      w[i * n + lo] += 1 - f;
      w[i * n + hi] += f;
    } else if (mode === 'cubic') {
      const a = node.attrFloat('cubic_coeff_a', -0.75);
      const exclude = node.attrInt('exclude_outside', 0) === 1;
      const base = Math.floor(x);
      const f = x - base;
      const taps = [-1, 0, 1, 2].map((o) => ({ k: base + o, c: cubic(a, f - o) }));
      const kept = exclude ? taps.filter((t) => t.k >= 0 && t.k < n) : taps;
      const total = exclude ? kept.reduce((p, t) => p + t.c, 0) : 1;
      for (const t of kept) w[i * n + clampIdx(t.k)] += t.c / total;
    } else {
      throw new UserError(`${node.label}: gradient of Resize in '${mode}' mode is not supported`);
    }
  }
  return w;
}

// Apply W^T along one axis: g [.., m, ..] -> [.., n, ..] as one MatMul (the last axis on the right, others on the left).
function adjointAxis(b: Builder, g: Value, ax: number, w: Float32Array, n: number, m: number): Value {
  const sh = g.shape;
  if (ax === sh.length - 1) return b.matmul(g, b.constant(Tensor.float32([m, n], w)));
  const wt = new Float32Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wt[j * m + i] = w[i * n + j]!;
  const pre = sh.slice(0, ax).reduce((p, d) => p * d, 1);
  const post = sh.slice(ax + 1).reduce((p, d) => p * d, 1);
  const out = b.matmul(b.constant(Tensor.float32([n, m], wt)), ax === sh.length - 2 ? g : b.reshape(g, [pre, m, post]));
  return ax === sh.length - 2 ? out : b.reshape(out, [...sh.slice(0, ax), n, ...sh.slice(ax + 1)]);
}

// Resize is linear in x for static shapes and every mode (nearest, linear, cubic), separable per axis: y = (W_1 x ... W_k) x.
// dx = dy contracted with each axis's constant interpolation matrix W_a^T (one MatMul per resized axis).
// No gradient to roi/scales/sizes; antialias and tf_crop_and_resize are refused.
export const rule: GradRuleDef = {
  ops: ['Resize'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    if (node.attrInt('antialias', 0) === 1)
      throw new UserError(`${node.label}: gradient of Resize with antialias is not supported`);
    const r = x.rank;
    const axes = node.hasAttr('axes') ? node.attrInts('axes').map((a) => normAxis(a, r)) : x.shape.map((_, i) => i);
    const scalesIn = node.inputs[2]?.constant?.toNumbers();
    const sizesIn = node.inputs[3]?.constant?.toNumbers();
    const scale = new Array<number>(r).fill(1);
    if (scalesIn && scalesIn.length > 0)
      axes.forEach((a, j) => {
        scale[a] = scalesIn[j]!;
      });
    else if (sizesIn && sizesIn.length > 0) {
      const policy = node.attrString('keep_aspect_ratio_policy', 'stretch');
      const ratios = axes.map((a, j) => sizesIn[j]! / x.shape[a]!);
      const common =
        policy === 'not_larger' ? Math.min(...ratios) : policy === 'not_smaller' ? Math.max(...ratios) : undefined;
      axes.forEach((a, j) => {
        scale[a] = common ?? ratios[j]!;
      });
    } else throw new UserError(`${node.label}: cannot differentiate a Resize whose scales and sizes are not constant`);
    let g = dy;
    for (const a of [...axes].reverse()) {
      const n = x.shape[a]!,
        m = dy.shape[a]!;
      const w = interpolationMatrix(node, n, m, scale[a]!);
      const identity = n === m && w.every((v, k) => v === (Math.floor(k / n) === k % n ? 1 : 0));
      if (!identity) g = adjointAxis(b, g, a, w, n, m);
    }
    return [g];
  },
};
