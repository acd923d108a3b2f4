// Lowering for devices whose MaxPool has no Indices output (onnxruntime's WebGPU provider: "The Indices output is not
// supported yet"). The autodiff's MaxPool gradient scatters dy into the forward's argmax indices; here the argmax is
// recomputed from standard ops instead: for each of the kh·kw offsets of the pooling window (row-major, PyTorch's scan
// order) a strided Slice of the padded input is compared with the pooled output, and an offset claims a window only
// if no earlier offset did. So a tie routes the whole gradient to the FIRST maximum, as PyTorch does (a plain
// equality mask would count every tied element). The gradient pattern (ScatterElements-add of dy at the indices into
// zeros) becomes a scatter-free placement of the masked dy; any other use of Indices gets them rebuilt from the masks.
import { Builder } from '../../ir/builder.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { eliminateDeadCode } from '../../ir/passes/dce.js';
import { topoSort } from '../../ir/passes/toposort.js';

// A 2-D MaxPool's static geometry, read from its attributes and inferred shapes.
interface Pool {
  x: Value;
  y: Value;
  n: number;
  c: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  k: [number, number];
  s: [number, number];
  d: [number, number];
  pads: [number, number, number, number];
}

function geometry(node: Node): Pool | undefined {
  const x = node.inputs[0];
  const y = node.outputs[0];
  const fixed = (v: Value | undefined) =>
    !!v?.type?.shape && v.type.shape.length === 4 && v.type.shape.every((d) => typeof d === 'number');
  if (!fixed(x) || !fixed(y)) return undefined;
  const autoPad = node.hasAttr('auto_pad') ? node.attrString('auto_pad') : 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return undefined;
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [, , ho, wo] = y!.shape as [number, number, number, number];
  const k = node.attrInts('kernel_shape') as [number, number];
  const s = node.attrInts('strides', [1, 1]) as [number, number];
  const d = node.attrInts('dilations', [1, 1]) as [number, number];
  const pads = (autoPad === 'VALID' ? [0, 0, 0, 0] : node.attrInts('pads', [0, 0, 0, 0])) as Pool['pads'];
  if (k.length !== 2) return undefined;
  return { x: x!, y: y!, n, c, h, w, ho, wo, k, s, d, pads };
}

// Span of the input (padded) grid the windows read along one axis: (out − 1)·stride + (k − 1)·dilation + 1.
const span = (out: number, k: number, s: number, d: number) => (out - 1) * s + (k - 1) * d + 1;

// The first-maximum mask of each window offset, row-major: mask_q[n,c,i,j] says offset q holds window (i,j)'s first max.
function firstMaxMasks(b: Builder, p: Pool): Value[] {
  const [pt, pl] = [p.pads[0], p.pads[1]];
  // Pad with −∞ up to every position a window reads (ceil_mode windows may run past the declared end pads).
  const pb = Math.max(0, span(p.ho, p.k[0], p.s[0], p.d[0]) - p.h - pt);
  const pr = Math.max(0, span(p.wo, p.k[1], p.s[1], p.d[1]) - p.w - pl);
  const xp =
    pt || pl || pb || pr
      ? b.op.Pad!([p.x, Tensor.int64([8], [0, 0, pt, pl, 0, 0, pb, pr]), Tensor.scalar(-Infinity)], {
          mode: 'constant',
        })
      : p.x;
  const masks: Value[] = [];
  let taken: Value | undefined;
  for (let i = 0; i < p.k[0]; i++) {
    for (let j = 0; j < p.k[1]; j++) {
      const [r0, c0] = [i * p.d[0], j * p.d[1]];
      const xs = b.op.Slice!([
        xp,
        Tensor.int64([2], [r0, c0]),
        Tensor.int64([2], [r0 + (p.ho - 1) * p.s[0] + 1, c0 + (p.wo - 1) * p.s[1] + 1]),
        Tensor.int64([2], [2, 3]),
        Tensor.int64([2], p.s),
      ]);
      const eq = b.op.Equal!([xs, p.y]);
      const last = i === p.k[0] - 1 && j === p.k[1] - 1;
      masks.push(taken ? b.op.And!([eq, b.op.Not!([taken])]) : eq);
      if (!last) taken = taken ? b.op.Or!([taken, eq]) : eq;
    }
  }
  return masks;
}

// dx of the pool from dy and the masks, without a scatter: each offset's masked dy placed at its input positions.
function maskedGradient(b: Builder, p: Pool, masks: Value[], dy: Value): Value {
  const K = masks.length;
  const [kh, kw] = p.k;
  const parts = masks.map((m) => b.op.Unsqueeze!([b.op.Where!([m, dy, Tensor.scalar(0)]), Tensor.int64([1], [2])]));
  const stacked = K === 1 ? parts[0]! : b.op.Concat!(parts, { axis: 2 }); // [N, C, K, Ho, Wo]
  let full: Value;
  if (p.s[0] === kh && p.s[1] === kw && p.d[0] === 1 && p.d[1] === 1) {
    // Windows tile the input: interleave the offsets, [N,C,kh,kw,Ho,Wo] -> [N,C,Ho,kh,Wo,kw] -> [N,C,Ho·kh,Wo·kw].
    const t = b.transpose(b.reshape(stacked, [p.n, p.c, kh, kw, p.ho, p.wo]), [0, 1, 4, 2, 5, 3]);
    full = b.reshape(t, [p.n, p.c, p.ho * kh, p.wo * kw]);
  } else {
    // Overlapping or dilated windows: a grouped ConvTranspose with one-hot kernels sums each offset's share.
    const wt = new Float32Array(p.c * K * kh * kw);
    for (let c = 0; c < p.c; c++) for (let q = 0; q < K; q++) wt[(c * K + q) * K + q] = 1;
    const kernel = b.constant(new Tensor('float32', [p.c * K, 1, kh, kw], wt));
    full = b.op.ConvTranspose!([b.reshape(stacked, [p.n, p.c * K, p.ho, p.wo]), kernel], {
      group: p.c,
      strides: p.s,
      dilations: p.d,
      kernel_shape: p.k,
    });
  }
  // `full` covers the padded grid from its origin: crop the pads, zero-fill positions no window reached.
  const [fh, fw] = [span(p.ho, kh, p.s[0], p.d[0]), span(p.wo, kw, p.s[1], p.d[1])];
  const [eh, ew] = [Math.max(0, p.pads[0] + p.h - fh), Math.max(0, p.pads[1] + p.w - fw)];
  if (eh || ew)
    full = b.op.Pad!([full, Tensor.int64([8], [0, 0, 0, 0, 0, 0, eh, ew]), Tensor.scalar(0)], { mode: 'constant' });
  return b.op.Slice!([
    full,
    Tensor.int64([2], [p.pads[0], p.pads[1]]),
    Tensor.int64([2], [p.pads[0] + p.h, p.pads[1] + p.w]),
    Tensor.int64([2], [2, 3]),
  ]);
}

// The Indices output rebuilt from the masks: flat positions into x (storage_order 0), as onnxruntime's MaxPool gives.
function indicesFromMasks(b: Builder, p: Pool, masks: Value[]): Value {
  const base = Tensor.int64(
    [p.n, p.c, 1, 1],
    Array.from({ length: p.n * p.c }, (_, i) => i * p.h * p.w),
  );
  let idx: Value = b.constant(base, 'int64');
  let q = 0;
  for (let i = 0; i < p.k[0]; i++) {
    for (let j = 0; j < p.k[1]; j++, q++) {
      const pos = new Array<number>(p.ho * p.wo);
      for (let a = 0; a < p.ho; a++) {
        for (let c = 0; c < p.wo; c++)
          pos[a * p.wo + c] = (a * p.s[0] + i * p.d[0] - p.pads[0]) * p.w + (c * p.s[1] + j * p.d[1] - p.pads[1]);
      }
      idx = b.op.Add!([
        idx,
        b.op.Where!([
          masks[q]!,
          b.constant(Tensor.int64([p.ho, p.wo], pos), 'int64'),
          b.constant(Tensor.scalar(0, 'int64'), 'int64'),
        ]),
      ]);
    }
  }
  return idx;
}

// ScatterElements(ConstantOfShape zeros, Reshape(indices, [-1]), updates, reduction add): the autodiff's MaxPool gradient.
function isGradientScatter(use: Node): boolean {
  if (use.opType !== 'Reshape' || use.outputs[0]!.uses.length !== 1) return false;
  const scatter = use.outputs[0]!.uses[0]!;
  return (
    scatter.node.opType === 'ScatterElements' &&
    scatter.index === 1 &&
    scatter.node.attrString('reduction', 'none') === 'add' &&
    scatter.node.inputs[0]?.producer?.opType === 'ConstantOfShape'
  );
}

// Rewrite every MaxPool with an Indices output in place; returns how many were rewritten. Shapes must be inferred.
export function lowerMaxPoolIndices(g: Graph): number {
  let count = 0;
  for (const node of [...g.nodes]) {
    const idx = node.outputs[1];
    if (node.opType !== 'MaxPool' || node.domain !== '' || !idx) continue;
    const p = geometry(node);
    if (!p) throw new Error(`${node.label}: its Indices output can only be lowered for a 2-D pool with static shapes`);
    const b = new Builder(g, `${node.name}/mask`);
    const masks = firstMaxMasks(b, p);
    let rebuilt: Value | undefined;
    for (const use of [...idx.uses]) {
      if (isGradientScatter(use.node)) {
        const scatter = use.node.outputs[0]!.uses[0]!.node;
        const dy = b.reshape(scatter.input(2), [p.n, p.c, p.ho, p.wo]);
        g.replaceAllUses(scatter.outputs[0]!, b.reshape(maskedGradient(b, p, masks, dy), [-1]));
      } else {
        rebuilt ??= indicesFromMasks(b, p, masks);
        g.setInput(use.node, use.index, rebuilt);
      }
    }
    if (g.outputs.includes(idx)) g.replaceAllUses(idx, rebuilt ?? indicesFromMasks(b, p, masks));
    eliminateDeadCode(g);
    node.outputs.length = 1;
    idx.producer = undefined;
    count++;
  }
  if (count) {
    eliminateDeadCode(g);
    topoSort(g);
    g.pruneValues();
  }
  return count;
}
