import type { Node } from '../graph.js';
import { like, staticShape, type ShapeRule } from './util.js';

// Spatial attributes of Conv / pooling nodes, with ONNX defaults filled in.
export interface SpatialAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[]; // [b1, b2, ..., e1, e2, ...]
  ceil: boolean;
}

// Resolve kernel, strides, dilations and explicit pads (auto_pad included) for a node on an input.
export function spatialAttrs(node: Node, inShape: number[], kernel: number[]): SpatialAttrs {
  const r = kernel.length;
  const strides = node.attrInts('strides', Array(r).fill(1));
  const dilations = node.attrInts('dilations', Array(r).fill(1));
  let pads = node.attrInts('pads', Array(2 * r).fill(0));
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array(2 * r).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const inp = inShape[2 + i]!;
      const out = Math.ceil(inp / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inp);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + r] = total - pads[i]!;
    }
  }
  return { kernel, strides, dilations, pads, ceil: node.attrInt('ceil_mode', 0) === 1 };
}

// Output spatial size of a sliding window.
export function windowOut(inp: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const span = inp + pb + pe - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch's rule, which onnxruntime's pooling kernels follow: the last window must start inside the left-padded input.
  // (onnxruntime's graph-level shape inference omits it, so graphs where it matters fail to load there.)
  if (ceil && (out - 1) * s >= inp + pb) out--;
  return out;
}

function convLike(
  n: Node,
  outChannels: (x: number[], w: number[] | undefined) => number,
  kernelOf: (x: number[], w: number[] | undefined) => number[],
) {
  const x = staticShape(n, 0);
  if (!x) return [like(n, 0, undefined)];
  const isConv = n.opType === 'Conv' || n.opType === 'ConvTranspose';
  const w = isConv ? staticShape(n, 1) : undefined;
  if (isConv && !w) return [like(n, 0, undefined)];
  // A model whose input rank or channels disagree with its weights is refused here, before anything is sized from it.
  if (w && w.length !== x.length)
    throw new Error(`${n.label}: input ${JSON.stringify(x)} and weight ${JSON.stringify(w)} differ in rank`);
  if (n.opType === 'Conv' && w && x[1] !== w[1]! * n.attrInt('group', 1)) {
    throw new Error(
      `${n.label}: input has ${x[1]} channels but the weight ${JSON.stringify(w)} with group ${n.attrInt('group', 1)} expects ${w[1]! * n.attrInt('group', 1)}`,
    );
  }
  const k = kernelOf(x, w);
  if (x.length !== k.length + 2)
    throw new Error(`${n.label}: a ${k.length}-d kernel needs a rank-${k.length + 2} input, got ${JSON.stringify(x)}`);
  const a = spatialAttrs(n, x, k);
  const r = k.length;
  if (a.strides.length !== r || a.dilations.length !== r || a.pads.length !== 2 * r) {
    throw new Error(`${n.label}: strides, dilations or pads do not match its ${r}-d kernel`);
  }
  const spatial = k.map((kk, i) =>
    windowOut(x[2 + i]!, kk, a.strides[i]!, a.dilations[i]!, a.pads[i]!, a.pads[i + r]!, a.ceil),
  );
  if (spatial.some((d) => !(d >= 1)))
    throw new Error(
      `${n.label}: input ${JSON.stringify(x)} is too small for its window (output ${JSON.stringify(spatial)})`,
    );
  return [like(n, 0, [x[0]!, outChannels(x, w), ...spatial])];
}

// Shape rules for convolutions and pooling.
export const convRules: Record<string, ShapeRule> = {
  Conv: (n) =>
    convLike(
      n,
      (_, w) => w![0]!,
      (_, w) => n.attrInts('kernel_shape', w!.slice(2)),
    ),
  MaxPool: (n) => {
    const out = convLike(
      n,
      (x) => x[1]!,
      () => n.attrInts('kernel_shape'),
    );
    return n.outputs.length > 1
      ? [out[0], out[0] ? { dtype: 'int64', ...(out[0].shape ? { shape: out[0].shape } : {}) } : undefined]
      : out;
  },
  AveragePool: (n) =>
    convLike(
      n,
      (x) => x[1]!,
      () => n.attrInts('kernel_shape'),
    ),
  LpPool: (n) =>
    convLike(
      n,
      (x) => x[1]!,
      () => n.attrInts('kernel_shape'),
    ),
  ConvTranspose: (n) => {
    const x = staticShape(n, 0);
    const w = staticShape(n, 1);
    if (!x || !w) return [like(n, 0, undefined)];
    const k = n.attrInts('kernel_shape', w.slice(2));
    const r = k.length;
    const group = n.attrInt('group', 1);
    const strides = n.attrInts('strides', Array(r).fill(1));
    const dil = n.attrInts('dilations', Array(r).fill(1));
    const pads = n.attrInts('pads', Array(2 * r).fill(0));
    const opad = n.attrInts('output_padding', Array(r).fill(0));
    const explicit = n.attrInts('output_shape', []);
    const spatial = explicit.length
      ? explicit.slice(-r)
      : k.map((kk, i) => strides[i]! * (x[2 + i]! - 1) + opad[i]! + (kk - 1) * dil[i]! + 1 - pads[i]! - pads[i + r]!);
    return [like(n, 0, [x[0]!, w[1]! * group, ...spatial])];
  },
  GlobalAveragePool: (n) => {
    const x = staticShape(n, 0);
    return [like(n, 0, x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined)];
  },
  GlobalMaxPool: (n) => {
    const x = staticShape(n, 0);
    return [like(n, 0, x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined)];
  },
  BatchNormalization: (n) => {
    const x = staticShape(n, 0);
    const c = staticShape(n, 1);
    const out = [like(n, 0, x)];
    for (let i = 1; i < n.outputs.length; i++) out.push(like(n, 1, c));
    return out;
  },
  InstanceNormalization: (n) => [like(n, 0, staticShape(n, 0))],
  GroupNormalization: (n) => [like(n, 0, staticShape(n, 0))],
  LayerNormalization: (n) => [like(n, 0, staticShape(n, 0))],
  LRN: (n) => [like(n, 0, staticShape(n, 0))],
};
