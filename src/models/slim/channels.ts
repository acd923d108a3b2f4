import type { Node, Value } from '../../ir/graph.js';

// Where a run of channel elements was born: a layer that can be slimmed (conv/linear outputs) or a fixed one
// (the image input, which is never slimmed).
export interface Source {
  id: number;
  node: Node | undefined;
  first: number;
  count: number;
}

// How a value's channels are laid out: element id per channel position (per feature after a Flatten), and the
// 5-D channel-shuffle view ([N, d1, d2, H, W] with d1·d2 channels) when the value is one.
export interface ChannelMap {
  elems: Int32Array;
  view5?: [number, number];
}

// Channel elements of a graph with union-find over the ties that force channels to be kept or dropped together
// (residual adds, depthwise convs, grouped convs, channel shuffles).
export class ChannelGraph {
  readonly sources: Source[] = [];
  readonly maps = new Map<Value, ChannelMap>();
  private parent: number[] = [];
  private owner: number[] = [];
  private pinned = new Set<number>();

  get size(): number {
    return this.parent.length;
  }

  // Fresh elements for `count` channels produced by `node` (undefined: a fixed source such as the image input).
  fresh(node: Node | undefined, count: number): Int32Array {
    const src: Source = { id: this.sources.length, node, first: this.parent.length, count };
    this.sources.push(src);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = this.parent.length;
      this.parent.push(this.parent.length);
      this.owner.push(src.id);
    }
    if (!node) for (const e of out) this.pin(e);
    return out;
  }

  find(e: number): number {
    let r = e;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[e] !== r) {
      const next = this.parent[e]!;
      this.parent[e] = r;
      e = next;
    }
    return r;
  }

  // Channels a and b must share one fate.
  tie(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[drop] = keep;
    if (this.pinned.has(drop)) this.pinned.add(keep);
  }

  // This channel can never be dropped (image input, logits, anything a graph output shows).
  pin(e: number): void {
    this.pinned.add(this.find(e));
  }

  isPinned(e: number): boolean {
    return this.pinned.has(this.find(e));
  }

  sourceOf(e: number): Source {
    return this.sources[this.owner[e]!]!;
  }

  // Tie the same offset of each of `blocks` equal blocks of a channel list (grouped convs, shuffles).
  tieBlocks(elems: Int32Array, blocks: number): void {
    const per = elems.length / blocks;
    for (let b = 1; b < blocks; b++) for (let r = 0; r < per; r++) this.tie(elems[r]!, elems[b * per + r]!);
  }

  // Positions of a value's channels that survive, given the kept classes.
  keptPositions(v: Value, kept: (root: number) => boolean): number[] | undefined {
    const m = this.maps.get(v);
    if (!m) return undefined;
    const out: number[] = [];
    m.elems.forEach((e, i) => {
      if (kept(this.find(e))) out.push(i);
    });
    return out;
  }
}
