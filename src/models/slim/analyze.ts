import type { Graph } from '../../ir/graph.js';
import { ChannelGraph } from './channels.js';
import { axesOp, flatten, pad, reshape, slice, transpose } from './layout.js';
import {
  cannotSlim,
  concat,
  conv,
  elementwise,
  ELEMENTWISE,
  linear,
  pass,
  PASS,
  SHAPE_ONLY,
  split,
  type Handler,
} from './propagate.js';

const HANDLERS: Record<string, Handler> = {
  Conv: conv,
  ConvTranspose: conv,
  Gemm: linear,
  MatMul: linear,
  Concat: concat,
  Split: split,
  Slice: slice,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: axesOp,
  Unsqueeze: axesOp,
  Pad: pad,
  ReduceMean: axesOp,
  ReduceSum: axesOp,
  ReduceMax: axesOp,
  ReduceMin: axesOp,
  ReduceL2: axesOp,
  ReduceSumSquare: axesOp,
  ...Object.fromEntries([...PASS].map((op) => [op, pass])),
  ...Object.fromEntries([...ELEMENTWISE].map((op) => [op, elementwise])),
};

// Follow every channel from the image input to the outputs (nodes in topological order, static shapes known):
// which layer creates it, which tensors carry it, which channels must share a fate. Graph outputs are pinned.
export function analyzeChannels(g: Graph): ChannelGraph {
  const cg = new ChannelGraph();
  for (const x of g.inputs) if (!x.constant && x.rank >= 2) cg.maps.set(x, { elems: cg.fresh(undefined, x.shape[1]!) });
  for (const n of g.nodes) {
    if (!n.inputs.some((v) => v && cg.maps.has(v))) continue;
    if (SHAPE_ONLY.has(n.opType)) continue;
    const h = n.domain === '' ? HANDLERS[n.opType] : undefined;
    if (!h)
      throw cannotSlim(n, `slimming does not know how ${n.domain ? `${n.domain}::` : ''}${n.opType} treats channels`);
    h(n, cg);
  }
  for (const o of g.outputs) cg.maps.get(o)?.elems.forEach((e) => cg.pin(e));
  return cg;
}
