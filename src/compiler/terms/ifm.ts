// Information-flow KD's layer loss (Passalis, Tzelepi & Tefas, arXiv 2005.00727; passalis/pkth prob_loss with
// kernel 'combined' and loss 'combined'; methods.md §6(b)). For one layer X ∈ [N, D] of each network:
//   cosine kernel      K¹_ij = (1 + x̂_i·x̂_j) / 2,   x̂ = x / (‖x‖₂ + eps) (NaN → 0)
//   Student-t kernel   K²_ij = 1 / (1 + d_ij),      d_ij = sqrt(max(‖x_i‖² + ‖x_j‖² − 2 x_i·x_j, 0) + eps)
//   P = K / rowsum(K)  (conditional probabilities),  D(P_t, P_s) = mean_ij (P_t − P_s)(log P_t − log P_s)  (Jeffreys)
//   L = D(P¹_t, P¹_s) + D(P²_t, P²_s).
// exclude_diagonal 1 (the paper): P_ij over j ≠ i only, and the mean over the N(N−1) off-diagonal pairs [ours];
// 0: the code's form, diagonal included, mean over N². 4-D maps are first adaptive-average-pooled to a small grid
// (pkth's ResNet helper; §6(d)): 4 per side for sides ≥ 16, else 2 (1 for a side of 1); `grid` > 0 fixes it.
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { UserError } from '../../util/errors.js';
import { checkBatchAndRank, flatten2, formatShape, slotShape, sumAll } from './_common.js';
import type { LossTermDef } from './types.js';

// The pooled side of a map side under §6(d)'s rule, or `grid` when given.
export function ifmGrid(side: number, grid = 0): number {
  if (grid > 0) return Math.min(grid, side);
  return side >= 16 ? 4 : Math.min(2, side);
}

// [out, in] matrix of torch's adaptive_avg_pool windows along one axis: row i averages [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).
function adaptiveRows(inSize: number, outSize: number): Tensor {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const lo = Math.floor((i * inSize) / outSize);
    const hi = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = lo; j < hi; j++) m[i * inSize + j] = 1 / (hi - lo);
  }
  return new Tensor('float32', [outSize, inSize], m);
}

// F.adaptive_avg_pool2d(x, (gh, gw)) as two MatMuls with constant window matrices (exact for any sizes).
export function adaptivePool2d(b: Builder, x: Value, gh: number, gw: number): Value {
  const [, , h, w] = x.shape as number[];
  let y = x;
  if (gh !== h) y = b.matmul(b.constant(adaptiveRows(h!, gh)), y);
  if (gw !== w) y = b.matmul(y, b.transpose(b.constant(adaptiveRows(w!, gw)), [1, 0]));
  return y;
}

// A layer as the [N, D] rows the kernels compare: 4-D maps pooled to the §6(d) grid, then flattened.
function layerRows(b: Builder, f: Value, grid: number): Value {
  if (f.rank !== 4) return flatten2(b, f);
  const [, , h, w] = f.shape as number[];
  return flatten2(b, adaptivePool2d(b, f, ifmGrid(h!, grid), ifmGrid(w!, grid)));
}

// Row-normalised kernels [N, N] (cosine, Student-t); with `exclude` the diagonal is masked out before normalising.
// The squared distances' diagonal is set to exactly 0 (what it is in exact arithmetic): float32 leaves ~1e-7·‖x‖² of
// rounding there, as large as eps, which made K²_ii (kept when the diagonal is included) jitter under perturbation.
function condProbs(b: Builder, x: Value, eps: number, offDiag: Value, exclude: boolean): [Value, Value] {
  const axis1 = b.constant([1], 'int64');
  const sq = b.op.ReduceSumSquare!([x, axis1], { keepdims: 1 });
  const xn0 = b.div(x, b.add(b.op.Sqrt!([sq]), eps));
  const xn = b.op.Where!([b.op.IsNaN!([xn0]), b.constant(0), xn0]);
  const cos = b.mul(b.add(b.matmul(xn, b.transpose(xn, [1, 0])), 1), 0.5);
  const gram = b.matmul(x, b.transpose(x, [1, 0]));
  const d2 = b.mul(b.sub(b.add(sq, b.transpose(sq, [1, 0])), b.mul(gram, 2)), offDiag);
  const dist = b.op.Sqrt!([b.add(b.op.Max!([d2, 0]), eps)]);
  const t = b.div(1, b.add(dist, 1));
  const norm = (k: Value) => {
    const km = exclude ? b.mul(k, offDiag) : k;
    return b.div(km, b.reduceSum(km, [1], true));
  };
  return [norm(cos), norm(t)];
}

// Jeffreys divergence summed over the pairs; on a masked diagonal P = 0 for both, so log(P + I) keeps it finite and 0.
function jeffreysSum(b: Builder, pt: Value, ps: Value, eye: Value | undefined): Value {
  const log = (p: Value) => b.op.Log!([eye ? b.add(p, eye) : p]);
  return sumAll(b, b.mul(b.sub(pt, ps), b.sub(log(pt), log(ps))));
}

// I [n, n], or 1 − I with `off`.
const eyeMatrix = (n: number, off = false): Tensor =>
  new Tensor(
    'float32',
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => ((i % (n + 1) === 0) !== off ? 1 : 0)),
  );

// Matches one layer's neighbourhood structure (two kernels, symmetric KL); layer widths may differ.
export const term: LossTermDef = {
  name: 'ifm',
  describe:
    'information-flow KD layer loss: Jeffreys divergence of cosine and Student-t kernel conditional probabilities',
  paper: 'arXiv 2005.00727',
  slots: [
    { name: 'student', tap: 'embedding' },
    { name: 'teacher', tap: 'embedding', target: true },
  ],
  defaults: { exclude_diagonal: 1, eps: 1e-6, grid: 0 },
  label: (o) => (o.exclude_diagonal === 0 ? 'diagonal included' : ''),
  check: (shapes) => {
    checkBatchAndRank('ifm', shapes, 'student', 'teacher');
    const n = slotShape('ifm', shapes, 'student')[0]!;
    if (n < 2)
      throw new UserError(
        `ifm: slots 'student' ${formatShape(shapes.student!)} and 'teacher' ${formatShape(shapes.teacher!)} need a batch of at least 2 (the kernels compare samples)`,
      );
  },
  build: ({ b, taps, options }) => {
    const eps = options.eps ?? 1e-6;
    const grid = options.grid ?? 0;
    const n = taps.student!.shape[0]!;
    const exclude = (options.exclude_diagonal ?? 1) !== 0;
    const eye = b.constant(eyeMatrix(n));
    const offDiag = b.constant(eyeMatrix(n, true));
    const [s1, s2] = condProbs(b, layerRows(b, taps.student!, grid), eps, offDiag, exclude);
    const [t1, t2] = condProbs(b, layerRows(b, taps.teacher!, grid), eps, offDiag, exclude);
    const pairs = exclude ? n * (n - 1) : n * n;
    const mask = exclude ? eye : undefined;
    return b.div(b.add(jeffreysSum(b, t1, s1, mask), jeffreysSum(b, t2, s2, mask)), pairs);
  },
};
