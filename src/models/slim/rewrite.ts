import type { Graph, Node, Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import type { ChannelGraph } from './channels.js';
import { intsOf } from './layout.js';
import { cannotSlim, ELEMENTWISE } from './propagate.js';
import { takeAxis } from './tensorOps.js';

// One slimmed layer, for reports and for checking the parameter count against the kept channels.
export interface SlimmedLayer {
  node: string;
  op: string;
  groups: number;
  inChannels: number;
  outChannels: number;
  keptIn: number;
  keptOut: number;
}

// Rewrites the graph's constants for the kept channels; `kept` is the set of kept union-find roots.
export class Rewriter {
  readonly layers: SlimmedLayer[] = [];

  constructor(
    readonly g: Graph,
    readonly cg: ChannelGraph,
    readonly kept: Set<number>,
  ) {}

  // Kept channel positions of a value (all of them when the value has no channel map).
  pos(v: Value): number[] {
    const p = this.cg.keptPositions(v, (r) => this.kept.has(r));
    return p ?? Array.from({ length: v.shape[1] ?? 1 }, (_, i) => i);
  }

  // Replace constant input `slot` of a node; a constant shared with other nodes is copied, not changed in place.
  setConst(n: Node, slot: number, t: Tensor): void {
    const v = n.inputs[slot];
    if (v && v.uses.length === 1 && this.g.initializers.includes(v)) {
      v.constant = t;
      v.type = { dtype: t.dtype, shape: [...t.dims] };
      return;
    }
    const base = v?.name ?? `${n.name}_input${slot}`;
    const nv = this.g.addInitializer(this.g.uniqueName(base.replace(/^onnx::/, '') + '_slim'), t);
    this.g.setInput(n, slot, nv);
    const p = v?.producer;
    if (p && p.opType === 'Constant' && p.outputs.every((o) => o.uses.length === 0)) this.g.removeNode(p);
  }

  // Rewrite one node's constants and attributes.
  node(n: Node): void {
    switch (n.opType) {
      case 'Conv':
      case 'ConvTranspose':
        return this.conv(n);
      case 'Gemm':
      case 'MatMul':
        return this.linear(n);
      case 'BatchNormalization':
      case 'InstanceNormalization':
        return this.norm(n);
      case 'Split':
        return this.split(n);
      case 'Slice':
        return this.slice(n);
      case 'Reshape':
        return this.reshape(n);
      default:
        if (ELEMENTWISE.has(n.opType)) this.broadcastConsts(n);
    }
  }

  private conv(n: Node): void {
    const x = n.input(0);
    const y = n.outputs[0]!;
    const W = n.input(1).constant!;
    const g = n.attrInt('group', 1);
    const inAll = x.shape[1]!;
    const inPos = this.pos(x);
    const outPos = this.pos(y);
    const outAll = y.shape[1]!;
    this.layers.push({
      node: n.name,
      op: n.opType,
      groups: g,
      inChannels: inAll,
      outChannels: outAll,
      keptIn: inPos.length,
      keptOut: outPos.length,
    });
    if (n.opType === 'ConvTranspose') {
      this.setConst(n, 1, takeAxis(takeAxis(W, 0, inPos), 1, outPos));
    } else if (g > 1 && g === inAll) {
      this.setConst(n, 1, takeAxis(W, 0, outPos));
      n.attributes.set('group', { kind: 'int', value: outPos.length });
    } else {
      this.setConst(n, 1, takeAxis(takeAxis(W, 0, outPos), 1, this.localInputs(n, inPos, inAll, g)));
      if (outPos.length % g !== 0)
        throw cannotSlim(n, `${outPos.length} kept output channels do not split into ${g} groups`);
    }
    const B = n.inputs[2]?.constant;
    if (B) this.setConst(n, 2, takeAxis(B, 0, outPos));
  }

  // Input channel offsets a grouped conv keeps within one group (the same in every group, by construction).
  private localInputs(n: Node, inPos: number[], inAll: number, g: number): number[] {
    if (g === 1) return inPos;
    const per = inAll / g;
    const local = inPos.filter((p) => p < per);
    const ok =
      inPos.length === local.length * g &&
      inPos.every((p, i) => p === Math.floor(i / local.length) * per + local[i % local.length]!);
    if (!ok) throw cannotSlim(n, `the kept input channels differ between its ${g} groups`);
    return local;
  }

  private linear(n: Node): void {
    const a = n.input(0);
    const y = n.outputs[0]!;
    const inPos = this.pos(a);
    const outPos = this.pos(y);
    const W = n.input(1).constant!;
    const transB = n.opType === 'Gemm' && n.attrInt('transB', 0) === 1;
    this.layers.push({
      node: n.name,
      op: n.opType,
      groups: 1,
      inChannels: a.shape[1]!,
      outChannels: y.shape[1]!,
      keptIn: inPos.length,
      keptOut: outPos.length,
    });
    this.setConst(
      n,
      1,
      transB ? takeAxis(takeAxis(W, 0, outPos), 1, inPos) : takeAxis(takeAxis(W, 0, inPos), 1, outPos),
    );
    const C = n.inputs[2]?.constant;
    if (C && C.size === y.shape[1] && C.size > 1) this.setConst(n, 2, takeAxis(C, C.dims.length - 1, outPos));
  }

  private norm(n: Node): void {
    const keep = this.pos(n.input(0));
    for (let i = 1; i < n.inputs.length; i++) {
      const t = n.inputs[i]?.constant;
      if (t && t.dims.length === 1 && t.size > 1) this.setConst(n, i, takeAxis(t, 0, keep));
    }
  }

  // Per-channel constants (bias adds, scales, PRelu slopes) follow the output's kept channels.
  private broadcastConsts(n: Node): void {
    const y = n.outputs[0]!;
    if (!this.cg.maps.has(y) || y.rank < 2) return;
    const keep = this.pos(y);
    n.inputs.forEach((v, i) => {
      const t = v?.constant;
      if (!t || this.cg.maps.has(v!)) return;
      const axis = 1 - (y.rank - t.dims.length);
      if (axis >= 0 && t.dims[axis]! > 1) this.setConst(n, i, takeAxis(t, axis, keep));
    });
  }

  private split(n: Node): void {
    const x = n.input(0);
    if ((n.attrInt('axis', 0) + x.rank) % x.rank !== 1 || !this.cg.maps.has(x)) return;
    const sizes = n.outputs.map((o) => this.pos(o).length);
    if (n.hasAttr('split')) n.attributes.set('split', { kind: 'ints', value: sizes });
    else this.setConst(n, 1, Tensor.int64([sizes.length], sizes));
  }

  private slice(n: Node): void {
    const x = n.input(0);
    if (!this.cg.maps.has(x)) return;
    const axes = (intsOf(n, 3, 'axes') ?? intsOf(n, 1, 'starts')!.map((_, i) => i)).map((a) =>
      a < 0 ? a + x.rank : a,
    );
    const k = axes.indexOf(1);
    if (k < 0) return;
    if (!n.inputs[1]) throw cannotSlim(n, 'Slice with attribute starts/ends (opset < 10) is not supported');
    const c = x.shape[1]!;
    const keep = this.pos(x);
    const before = (v: number) => keep.filter((p) => p < Math.min(Math.max(v < 0 ? v + c : v, 0), c)).length;
    for (const slot of [1, 2]) {
      const vals = intsOf(n, slot)!;
      vals[k] = before(vals[k]!);
      this.setConst(n, slot, Tensor.int64([vals.length], vals));
    }
  }

  // Shape constants of flatten and channel-shuffle reshapes get the kept channel counts.
  private reshape(n: Node): void {
    const x = n.input(0);
    const y = n.outputs[0]!;
    const my = this.cg.maps.get(y);
    if (!my) return;
    const target = intsOf(n, 1)!;
    const next = [...target];
    const kept = this.pos(y).length;
    const mx = this.cg.maps.get(x)!;
    if (my.view5 && !mx.view5) {
      const g = my.view5[0];
      if (kept % g !== 0) throw cannotSlim(n, `${kept} kept channels do not split into ${g} shuffle groups`);
      if (next[2]! > 0) next[2] = kept / g;
    } else if (y.rank === 4 && mx.view5) {
      if (next[1]! > 0) next[1] = kept;
    } else if (y.rank === 2 && next[1]! > 0) next[1] = kept;
    if (next.every((d, i) => d === target[i])) return;
    if (!this.g.initializers.includes(n.input(1)) && next[0]! > 0 && n.attrInt('allowzero', 0) === 0) next[0] = 0;
    this.setConst(n, 1, Tensor.int64([next.length], next));
  }
}
