import type { Node, Value } from '../../ir/graph.js';
import type { ChannelGraph } from './channels.js';
import { cannotSlim, pass } from './propagate.js';

const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);

// Constant integer input i (or attribute `attr` in older opsets).
export function intsOf(n: Node, i: number, attr?: string): number[] | undefined {
  const v = n.inputs[i];
  if (v) {
    if (!v.constant) throw cannotSlim(n, `input ${i} ('${v.name}') is not constant`);
    return v.constant.toNumbers();
  }
  return attr && n.hasAttr(attr) ? n.attrInts(attr) : undefined;
}

// Slice on the channel axis (steps of 1) keeps the channels in its range; other axes leave channels alone.
export function slice(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const starts = intsOf(n, 1, 'starts')!;
  const ends = intsOf(n, 2, 'ends')!;
  const axes = (intsOf(n, 3, 'axes') ?? starts.map((_, i) => i)).map((a) => norm(a, x.rank));
  const steps = intsOf(n, 4) ?? axes.map(() => 1);
  const k = axes.indexOf(1);
  if (k < 0) return pass(n, cg);
  if (steps[k] !== 1) throw cannotSlim(n, 'a strided slice of channels is not supported');
  const c = x.shape[1]!;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + c : v, 0), c);
  cg.maps.set(n.outputs[0]!, { elems: cg.maps.get(x)!.elems.slice(clamp(starts[k]!), clamp(ends[k]!)) });
}

// Channels repeated over the spatial positions they flatten with: feature c·H·W + p belongs to channel c.
function flattenElems(cg: ChannelGraph, x: Value): Int32Array {
  const m = cg.maps.get(x)!;
  const per = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Int32Array(m.elems.length * per);
  m.elems.forEach((e, c) => out.fill(e, c * per, (c + 1) * per));
  return out;
}

// Flatten from axis 1 of [N, C, ...]: the Gemm after it reads channel × spatial features.
export function flatten(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  if (norm(n.attrInt('axis', 1), x.rank) !== 1) throw cannotSlim(n, 'only Flatten(axis=1) of [N, C, ...] is supported');
  cg.maps.set(n.outputs[0]!, { elems: flattenElems(cg, x) });
}

// Reshape: same shape, flatten to [N, features], or the two views of a channel shuffle ([N,C,H,W] <-> [N,g,C/g,H,W]).
export function reshape(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const y = n.outputs[0]!;
  const xs = x.shape;
  const ys = y.shape;
  const m = cg.maps.get(x)!;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(xs, ys)) return pass(n, cg);
  if (ys.length === 2 && ys[0] === xs[0] && !m.view5) return void cg.maps.set(y, { elems: flattenElems(cg, x) });
  if (xs.length === 4 && ys.length === 5 && ys[1]! * ys[2]! === xs[1] && same(ys.slice(3), xs.slice(2))) {
    return void cg.maps.set(y, { elems: m.elems, view5: [ys[1]!, ys[2]!] });
  }
  if (m.view5 && ys.length === 4 && ys[1] === xs[1]! * xs[2]! && same(ys.slice(2), xs.slice(3)))
    return void cg.maps.set(y, { elems: m.elems });
  throw cannotSlim(n, `reshaping ${JSON.stringify(xs)} to ${JSON.stringify(ys)} mixes channels with other axes`);
}

// Transpose: the middle of a channel shuffle (swap the two channel axes), or any perm that leaves N and C in place.
export function transpose(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const m = cg.maps.get(x)!;
  const perm = n.attrInts(
    'perm',
    x.shape.map((_, i) => x.rank - 1 - i),
  );
  if (m.view5 && perm.join() === '0,2,1,3,4') {
    const [d1, d2] = m.view5;
    cg.tieBlocks(m.elems, d1);
    const elems = new Int32Array(m.elems.length);
    for (let b = 0; b < d1; b++) for (let r = 0; r < d2; r++) elems[r * d1 + b] = m.elems[b * d2 + r]!;
    return void cg.maps.set(n.outputs[0]!, { elems, view5: [d2, d1] });
  }
  if (perm[0] === 0 && perm[1] === 1 && !m.view5) return pass(n, cg);
  throw cannotSlim(n, `transpose ${JSON.stringify(perm)} moves the channel axis`);
}

// Squeeze/Unsqueeze/Reduce*: fine while the batch and channel axes stay where they are; reducing channels ends the map.
export function axesOp(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const out = n.outputs[0]!;
  const rank = n.opType === 'Unsqueeze' ? out.rank : x.rank;
  const given = intsOf(n, 1, 'axes');
  const axes = (given ?? []).map((a) => norm(a, rank));
  if (n.opType.startsWith('Reduce')) {
    if (!given || given.length === 0 || axes.includes(1)) return;
    if (axes.includes(0)) throw cannotSlim(n, 'reducing over the batch axis is not supported');
    return pass(n, cg);
  }
  if (axes.includes(0) || axes.includes(1) || (!given && n.opType === 'Squeeze'))
    throw cannotSlim(n, 'it moves the channel axis');
  pass(n, cg);
}

// Pad must leave the channel axis alone.
export function pad(n: Node, cg: ChannelGraph): void {
  const x = n.input(0);
  const pads = intsOf(n, 1, 'pads') ?? [];
  const axes = intsOf(n, 3)?.map((a) => norm(a, x.rank)) ?? x.shape.map((_, i) => i);
  const k = axes.indexOf(1);
  if (k >= 0 && (pads[k] !== 0 || pads[k + axes.length] !== 0))
    throw cannotSlim(n, 'padding the channel axis is not supported');
  pass(n, cg);
}
