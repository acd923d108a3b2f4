import type { Node, Value } from '../../ir/graph.js';
import { UserError } from '../../util/errors.js';
import { ChannelGraph, type ChannelMap } from './channels.js';

// Ops whose output channels are their first input's channels, one to one.
export const PASS = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Clip',
  'Identity',
  'Dropout',
  'Elu',
  'Selu',
  'Softplus',
  'Gelu',
  'Mish',
  'Neg',
  'Abs',
  'Exp',
  'Log',
  'Sqrt',
  'Erf',
  'Softsign',
  'Cast',
  'MaxPool',
  'AveragePool',
  'LpPool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Resize',
  'Upsample',
  'LRN',
  'Softmax',
  'LogSoftmax',
  'BatchNormalization',
  'InstanceNormalization',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Reciprocal',
]);
// Element-wise ops with several inputs: channels of all non-constant inputs are tied together.
export const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'Pow', 'PRelu', 'Where']);
// Ops that read a value's shape only.
export const SHAPE_ONLY = new Set(['Shape', 'Size']);

// The error every unsupported pattern raises: it names the node so the user can find it in Netron.
export function cannotSlim(n: Node, why: string): UserError {
  return new UserError(
    `cannot slim ${n.label}: ${why}`,
    'slimming supports Conv/BatchNorm/Gemm networks with residual Adds, Concat, Split/Slice, depthwise and grouped convs, channel shuffles and Flatten heads',
  );
}

// Analysis of one node: sets its outputs' channel maps, ties channels that must share a fate.
export type Handler = (n: Node, cg: ChannelGraph) => void;

// The channel map of a value, if it has one.
export const mapOf = (cg: ChannelGraph, v: Value | undefined): ChannelMap | undefined =>
  v ? cg.maps.get(v) : undefined;

// Channels flow through unchanged (activations, pooling, BatchNorm).
export function pass(n: Node, cg: ChannelGraph): void {
  const m = mapOf(cg, n.inputs[0]);
  if (m) for (const o of n.outputs) cg.maps.set(o, m);
}

// A mapped input's channels, or fixed (never slimmed) channels for an input that has none.
export function mapOrFixed(cg: ChannelGraph, v: Value): ChannelMap {
  let m = cg.maps.get(v);
  if (!m) {
    m = { elems: cg.fresh(undefined, v.shape[1] ?? 1) };
    cg.maps.set(v, m);
  }
  return m;
}

// Conv/ConvTranspose: fresh channels (tied across groups), or the input's channels for a depthwise conv.
export function conv(n: Node, cg: ChannelGraph): void {
  const w = n.input(1);
  if (!w.constant) throw cannotSlim(n, 'its weights are not a constant initializer');
  const x = n.input(0);
  const inMap = mapOrFixed(cg, x);
  const g = n.attrInt('group', 1);
  const out = n.opType === 'Conv' ? w.shape[0]! : w.shape[1]! * g;
  if (n.opType === 'ConvTranspose' && g !== 1) throw cannotSlim(n, 'grouped ConvTranspose is not supported');
  if (g > 1 && g === inMap.elems.length) {
    if (out !== g) throw cannotSlim(n, `depthwise conv with channel multiplier ${out / g} is not supported`);
    cg.maps.set(n.outputs[0]!, { elems: inMap.elems });
    return;
  }
  if (g > 1) cg.tieBlocks(inMap.elems, g);
  const elems = cg.fresh(n, out);
  if (g > 1) cg.tieBlocks(elems, g);
  cg.maps.set(n.outputs[0]!, { elems });
}

// Gemm/MatMul on [N, features]: the input features index the weight; fresh output features.
export function linear(n: Node, cg: ChannelGraph): void {
  const a = n.input(0);
  const w = n.input(1);
  if (n.opType === 'Gemm' && n.attrInt('transA', 0)) throw cannotSlim(n, 'transA = 1 is not supported');
  if (!w.constant || w.rank !== 2 || a.rank !== 2)
    throw cannotSlim(n, 'only [N, features] × constant 2-D weight is supported');
  mapOrFixed(cg, a);
  const transB = n.opType === 'Gemm' && n.attrInt('transB', 0) === 1;
  cg.maps.set(n.outputs[0]!, { elems: cg.fresh(n, transB ? w.shape[0]! : w.shape[1]!) });
}

// Add/Mul/...: every full-width input shares one fate per channel (residual connections).
export function elementwise(n: Node, cg: ChannelGraph): void {
  const out = n.outputs[0]!;
  const channels = out.rank >= 2 ? out.shape[1]! : 1;
  const mapped = n.inputs.filter((v): v is Value => !!v && cg.maps.has(v) && v.rank >= 2);
  const full = mapped.filter((v) => cg.maps.get(v)!.elems.length === channels && v.rank === out.rank);
  if (full.length !== mapped.filter((v) => cg.maps.get(v)!.elems.length !== 1 || v.rank !== out.rank).length) {
    throw cannotSlim(
      n,
      `its inputs' channels do not line up (${mapped.map((v) => JSON.stringify(v.shape)).join(' vs ')})`,
    );
  }
  if (full.length === 0) return;
  const ref = cg.maps.get(full[0]!)!;
  for (const v of full.slice(1)) cg.maps.get(v)!.elems.forEach((e, i) => cg.tie(ref.elems[i]!, e));
  cg.maps.set(out, ref);
}

// Concat on channels: the output lists its inputs' channels at their offsets.
export function concat(n: Node, cg: ChannelGraph): void {
  const out = n.outputs[0]!;
  const axis = n.attrInt('axis') < 0 ? n.attrInt('axis') + out.rank : n.attrInt('axis');
  const ins = n.inputs.filter((v): v is Value => !!v);
  if (axis !== 1) {
    elementwise(n, cg);
    return;
  }
  const maps = ins.map((v) => mapOrFixed(cg, v).elems);
  const elems = new Int32Array(maps.reduce((s, m) => s + m.length, 0));
  let o = 0;
  for (const m of maps) {
    elems.set(m, o);
    o += m.length;
  }
  cg.maps.set(out, { elems });
}

// Split on channels: each output takes its range of the input's channels.
export function split(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const axis = n.attrInt('axis', 0) < 0 ? n.attrInt('axis', 0) + x.rank : n.attrInt('axis', 0);
  if (axis !== 1) return pass(n, cg);
  const m = cg.maps.get(x)!;
  let o = 0;
  for (const out of n.outputs) {
    const c = out.shape[1]!;
    cg.maps.set(out, { elems: m.elems.slice(o, o + c) });
    o += c;
  }
}
