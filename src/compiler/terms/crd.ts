// Contrastive representation distillation (CRD, arXiv 1910.10699, HobbitLong/RepDistiller `crd/criterion.py`,
// `crd/memory.py`), written from that code:
//   v_s = l2norm(W_s·h_s + b_s),  v_t = l2norm(W_t·sg(h_t) + b_t)          (Embed heads, both trained, dim feat_dim)
//   memories M_s, M_t [n_data, feat_dim] (training state, carried and checkpointed; start U(±1/√(feat_dim/3)))
//   idx[n] = (i_n, K negatives): the sample itself, then K samples of other classes drawn by the host each step
//   P_s[n,k] = exp(M_t[idx[n,k]]·v_s / T) / Z_s,  P_t[n,k] = exp(M_s[idx[n,k]]·v_t / T) / Z_t
//   Z = mean(exp(·)) · n_data, fixed on the first step (a constant: no gradient), as ContrastMemory's params[2:4]
//   NCE (ContrastLoss), c = K / n_data: L(P) = −(1/N)·Σ_n [log(P_n0/(P_n0 + c + 1e-7)) + Σ_{k≥1} log(c/(P_nk + c + 1e-7))]
//   loss = L(P_s) + L(P_t);  then M_s[i_n] ← normalise(0.5·M_s[i_n] + 0.5·sg v_s), M_t likewise (momentum nce_m).
// Scores are taken against the whole memory (v·Mᵀ, [N, n_data]) and the K + 1 picked with GatherElements: the same
// numbers as the reference's index_select + bmm without an [N, K + 1, feat_dim] copy. Defaults: feat_dim 128,
// nce_k 16384, nce_t 0.07, nce_m 0.5 (RepDistiller); n_data is the training split's size, set by the run.
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { UserError } from '../../util/errors.js';
import { uniformTensor } from '../../ir/init.js';
import { flatten2, formatShape, slotShape } from './_common.js';
import type { BatchContext, LossTermDef, ModuleBuilder } from './types.js';

// Linear(D, feat) with PyTorch's default init, then x / ‖x‖₂ per row (RepDistiller Embed + Normalize).
function embed(b: Builder, m: ModuleBuilder, name: string, h: Value, feat: number): Value {
  const d = h.shape[1]!;
  const bound = 1 / Math.sqrt(d);
  const w = m.param(`${name}.weight`, uniformTensor(m.rng, [feat, d], bound));
  const bias = m.param(`${name}.bias`, uniformTensor(m.rng, [feat], bound));
  const y = b.op.Gemm!([h, w, bias], { transB: 1 });
  return b.div(y, b.op.Sqrt!([b.reduceSum(b.mul(y, y), [1], true)]));
}

// ContrastLoss of one side: column 0 is the positive pair, the rest noise.
function nce(b: Builder, p: Value, k: number, nData: number): Value {
  const c = k / nData;
  const pos = new Float32Array(k + 1);
  pos[0] = 1;
  const mask = b.constant(new Tensor('float32', [1, k + 1], pos));
  const denom = b.add(p, c + 1e-7);
  const logD1 = b.op.Log!([b.div(p, denom)]);
  const logD0 = b.op.Log!([b.div(b.constant(c), denom)]);
  const all = b.add(b.mul(mask, logD1), b.mul(b.sub(1, mask), logD0));
  return b.mul(b.reduceSum(all, [0, 1], false), -1 / p.shape[0]!);
}

// The memory's normalised momentum update at the batch's own samples.
function updated(b: Builder, memory: Value, index: Value, v: Value, momentum: number): Value {
  const rows = b.add(b.mul(b.op.Gather!([memory, index], { axis: 0 }), momentum), b.mul(v, 1 - momentum));
  const norm = b.div(rows, b.op.Sqrt!([b.reduceSum(b.mul(rows, rows), [1], true)]));
  return b.op.ScatterND!([memory, b.reshape(index, [index.shape[0]!, 1]), norm]);
}

// Per-class sample lists of a split, built once per labelling function.
const byClass = new WeakMap<(i: number) => number, { label: Int32Array; others: Map<number, Int32Array> }>();
function classLists(size: number, labelOf: (i: number) => number) {
  let e = byClass.get(labelOf);
  if (!e) {
    const label = Int32Array.from({ length: size }, (_, i) => labelOf(i));
    e = { label, others: new Map() };
    byClass.set(labelOf, e);
  }
  return e;
}

// The contrast indices of a batch: each sample, then K of other classes (uniform, with replacement), as the reference's
// 'exact' sampling; without labels for the split, K of the other samples.
export function contrastIndices(ctx: BatchContext, k: number): BigInt64Array {
  let s = (ctx.seed * 1000003 + ctx.step * 7919 + 1) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const lists = ctx.labelOf ? classLists(ctx.size, ctx.labelOf) : undefined;
  const out = new BigInt64Array(ctx.indices.length * (k + 1));
  ctx.indices.forEach((i, n) => {
    out[n * (k + 1)] = BigInt(i);
    let pool: Int32Array | undefined;
    if (lists) {
      const y = lists.label[i]!;
      pool = lists.others.get(y);
      if (!pool) {
        pool = Int32Array.from(Array.from(lists.label).flatMap((c, j) => (c === y ? [] : [j])));
        lists.others.set(y, pool);
      }
    }
    for (let j = 1; j <= k; j++) {
      if (pool && pool.length) out[n * (k + 1) + j] = BigInt(pool[Math.floor(next() * pool.length)]!);
      else {
        const r = Math.floor(next() * (ctx.size - 1));
        out[n * (k + 1) + j] = BigInt(r >= i ? r + 1 : r);
      }
    }
  });
  return out;
}

// Student and teacher embeddings pulled together against a memory of other samples' embeddings.
export const term: LossTermDef = {
  name: 'crd',
  describe: 'contrastive representation distillation: NCE of embedding heads against memory banks of negatives',
  paper: 'arXiv 1910.10699',
  slots: [
    { name: 'student', tap: 'embedding' },
    { name: 'teacher', tap: 'embedding', target: true },
  ],
  defaults: { feat_dim: 128, nce_k: 16384, nce_t: 0.07, nce_m: 0.5, n_data: 0 },
  label: (o) => `K ${o.nce_k} T ${o.nce_t} d ${o.feat_dim}, memory ${o.n_data}`,
  check: (shapes, o) => {
    const s = slotShape('crd', shapes, 'student'),
      t = slotShape('crd', shapes, 'teacher');
    if (s[0] !== t[0] || s.length < 2 || t.length < 2)
      throw new UserError(
        `crd: slots 'student' ${formatShape(s)} and 'teacher' ${formatShape(t)} must be features of one batch`,
      );
    if (!(o.n_data! >= 2))
      throw new UserError(
        `crd: option n_data (the memory size, the training split's size) is ${o.n_data}; the run sets it`,
      );
  },
  batchInputs: {
    index: {
      describe: "the batch's samples as indices into the training split (the memory rows they update)",
      shape: (n) => [n],
      make: (ctx) => BigInt64Array.from(ctx.indices, (i) => BigInt(i)),
    },
    contrast: {
      describe:
        'per sample: its own index, then nce_k indices of training samples of other classes, uniform with replacement',
      shape: (n, o) => [n, o.nce_k! + 1],
      make: (ctx, o) => contrastIndices(ctx, o.nce_k!),
    },
  },
  build: ({ b, taps, options, module, stop, batchInput }) => {
    const [feat, k, temp, mom, nData] = [
      options.feat_dim!,
      options.nce_k!,
      options.nce_t!,
      options.nce_m!,
      options.n_data!,
    ];
    const vs = embed(b, module, 'embed_s', flatten2(b, taps.student!), feat);
    const vt = embed(b, module, 'embed_t', flatten2(b, taps.teacher!), feat);
    const stdv = 1 / Math.sqrt(feat / 3);
    const memS = module.buffer('memory_v1', uniformTensor(module.rng, [nData, feat], stdv));
    const memT = module.buffer('memory_v2', uniformTensor(module.rng, [nData, feat], stdv));
    const zS = module.buffer('z_v1', Tensor.float32([], [-1]));
    const zT = module.buffer('z_v2', Tensor.float32([], [-1]));
    const index = batchInput('index');
    const contrast = batchInput('contrast');
    const scores = (v: Value, mem: Value) =>
      b.op.GatherElements!([b.op.Exp!([b.div(b.matmul(v, b.transpose(mem, [1, 0])), temp)]), contrast], { axis: 1 });
    const outS = scores(vs, memT);
    const outT = scores(vt, memS);
    const z = (out: Value, cur: Value) =>
      b.op.Where!([b.op.Less!([cur, 0]), stop(b.mul(b.reduceMean(out, [0, 1], false), nData)), cur]);
    const [zs, zt] = [z(outS, zS), z(outT, zT)];
    module.carry(zS, zs);
    module.carry(zT, zt);
    module.carry(memS, updated(b, memS, index, stop(vs), mom));
    module.carry(memT, updated(b, memT, index, stop(vt), mom));
    return b.add(nce(b, b.div(outS, zs), k, nData), nce(b, b.div(outT, zt), k, nData));
  },
};
