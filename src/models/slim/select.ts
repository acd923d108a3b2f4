import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { ChannelGraph } from './channels.js';

// Importance criterion for channel slimming: L1 norm of each filter, or |gamma| of the BatchNorm that follows.
export type SlimCriterion = 'l1' | 'bn-gamma';

// Sum of |w| over everything but `axis`, per index of `axis` (L1 norm of each filter / weight row or column).
function l1Along(t: Tensor, axis: number): Float64Array {
  const dims = t.dims;
  const n = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const d = t.data as Float32Array;
  const out = new Float64Array(n);
  for (let i = 0; i < d.length; i++) out[Math.floor(i / inner) % n] += Math.abs(d[i]!);
  return out;
}

// Per-output-channel L1 norms of the layer that created a run of channels.
function outputL1(n: Node): Float64Array {
  const w = n.input(1).constant!;
  if (n.opType === 'Conv') return l1Along(w, 0);
  if (n.opType === 'ConvTranspose') return l1Along(w, 1);
  const transB = n.opType === 'Gemm' && n.attrInt('transB', 0) === 1;
  return l1Along(w, transB ? 0 : 1);
}

// Importance of each tied channel class (keyed by union-find root), under both criteria.
function importance(
  g: Graph,
  cg: ChannelGraph,
  skipGamma: Set<Node>,
): { l1: Map<number, number>; gamma: Map<number, number> } {
  const l1 = new Map<number, number>();
  const gamma = new Map<number, number>();
  const add = (m: Map<number, number>, e: number, v: number) => {
    const r = cg.find(e);
    m.set(r, (m.get(r) ?? 0) + v);
  };
  for (const s of cg.sources) {
    if (!s.node) continue;
    outputL1(s.node).forEach((v, i) => add(l1, s.first + i, v));
  }
  for (const n of g.nodes) {
    if (n.opType !== 'BatchNormalization' || skipGamma.has(n)) continue;
    const scale = n.inputs[1]?.constant;
    const m = cg.maps.get(n.input(0));
    if (scale && m) m.elems.forEach((e, i) => add(gamma, e, Math.abs((scale.data as Float32Array)[i]!)));
  }
  return { l1, gamma };
}

// Groups of classes that slim together: classes whose channels come from layers tied by any class.
function components(cg: ChannelGraph): number[][] {
  const parent = cg.sources.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const firstSource = new Map<number, number>();
  for (const s of cg.sources) {
    for (let e = s.first; e < s.first + s.count; e++) {
      const r = cg.find(e);
      const t = firstSource.get(r);
      if (t === undefined) firstSource.set(r, s.id);
      else parent[find(s.id)] = find(t);
    }
  }
  const byComp = new Map<number, number[]>();
  for (const [root, src] of firstSource) {
    if (!cg.sources[src]!.node && !cg.isPinned(root)) continue;
    const c = find(src);
    byComp.set(c, [...(byComp.get(c) ?? []), root]);
  }
  return [...byComp.values()];
}

// Choose the classes to keep: in each component, round(ratio · classes) (at least 1), pinned ones first, then the
// most important; returns the kept union-find roots.
export function selectChannels(
  g: Graph,
  cg: ChannelGraph,
  ratio: number,
  criterion: SlimCriterion,
  skipGamma: Set<Node>,
): Set<number> {
  const imp = importance(g, cg, skipGamma);
  const kept = new Set<number>();
  for (const roots of components(cg)) {
    const useGamma = criterion === 'bn-gamma' && roots.some((r) => imp.gamma.has(r));
    const score = (r: number) => (useGamma ? imp.gamma : imp.l1).get(r) ?? 0;
    const pinned = roots.filter((r) => cg.isPinned(r));
    const want = Math.max(1, Math.round(ratio * roots.length), pinned.length);
    const ranked = roots.filter((r) => !cg.isPinned(r)).sort((a, b) => score(b) - score(a) || a - b);
    for (const r of [...pinned, ...ranked.slice(0, want - pinned.length)]) kept.add(r);
  }
  keepOneInput(g, cg, kept, (r) => imp.l1.get(r) ?? 0);
  return kept;
}

// No layer may lose all its inputs (a Split half whose channels all ranked low, say): keep its best channel.
function keepOneInput(g: Graph, cg: ChannelGraph, kept: Set<number>, score: (root: number) => number): void {
  for (const n of g.nodes) {
    if (!['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType)) continue;
    const m = cg.maps.get(n.input(0));
    if (!m || m.elems.some((e) => kept.has(cg.find(e)))) continue;
    const roots = [...new Set(Array.from(m.elems, (e) => cg.find(e)))];
    kept.add(roots.reduce((best, r) => (score(r) > score(best) ? r : best)));
  }
}
