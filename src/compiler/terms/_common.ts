// Shared pieces of the loss terms: reductions to a scalar, row normalisation, batchmean KL and shape checks.
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { UserError } from '../../util/errors.js';

// Sum of every element as a scalar (shape []): terms return scalars.
export function sumAll(b: Builder, x: Value): Value {
  return b.reduceSum(
    x,
    x.shape.map((_, i) => i),
    false,
  );
}

// Mean of every element as a scalar, as torch's `.mean()` / nn.MSELoss(reduction='mean').
export function meanAll(b: Builder, x: Value): Value {
  return b.reduceMean(
    x,
    x.shape.map((_, i) => i),
    false,
  );
}

// [N, ...] -> [N, prod(...)], as torch's `x.view(N, -1)`.
export function flatten2(b: Builder, x: Value): Value {
  const [n, ...rest] = x.shape;
  return rest.length === 1 ? x : b.reshape(x, [n!, rest.reduce((p, d) => p * d, 1)]);
}

// F.normalize(x, dim=1): x / max(||x||_2, eps) per row, eps 1e-12 as PyTorch.
export function normalizeRows(b: Builder, x: Value, eps = 1e-12): Value {
  const norm = b.op.ReduceL2!([x, b.constant([1], 'int64')], { keepdims: 1 });
  return b.div(x, b.op.Max!([norm, eps]));
}

// F.kl_div(logQ, p, reduction='sum') = Σ p·(log p − log q), with log p given (from LogSoftmax, finite where p underflows to 0).
export function klSum(b: Builder, p: Value, logP: Value, logQ: Value): Value {
  return sumAll(b, b.mul(p, b.sub(logP, logQ)));
}

// Logit standardisation (arXiv 2403.01427, sunshangquan/logit-standardization-KD `normalize`): the z-score of each
// row, (z − mean(z)) / (1e-7 + std(z)), std unbiased (torch.std), taken before the temperature divides the logits.
export function standardize(b: Builder, z: Value): Value {
  const c = z.shape[1]!;
  const d = b.sub(z, b.reduceMean(z, [1], true));
  const std = b.op.Sqrt!([b.div(b.reduceSum(b.mul(d, d), [1], true), c - 1)]);
  return b.div(d, b.add(std, 1e-7));
}

// The logits a KL-based term reads: z-scored when its `standardize` option is set (every KL term has one).
export function maybeStandardize(b: Builder, z: Value, options: Record<string, number>): Value {
  return options.standardize ? standardize(b, z) : z;
}

// The `standardize` option's label part ('LS' when on), for the printed loss.
export const lsLabel = (o: Record<string, number>): string => (o.standardize ? ', LS' : '');

// Hinton's softened KL, τ²·KL(σ_τ(t) ‖ σ_τ(s)) with batchmean reduction (RepDistiller DistillKL); τ a number or, for a
// learned temperature (CTKD), a scalar value of the graph.
export function softKL(b: Builder, student: Value, teacher: Value, tau: number | Value): Value {
  const n = student.shape[0]!;
  const s = b.div(student, tau);
  const t = b.div(teacher, tau);
  const kl = klSum(
    b,
    b.op.Softmax!([t], { axis: 1 }),
    b.op.LogSoftmax!([t], { axis: 1 }),
    b.op.LogSoftmax!([s], { axis: 1 }),
  );
  return typeof tau === 'number' ? b.mul(kl, (tau * tau) / n) : b.mul(kl, b.div(b.mul(tau, tau), n));
}

// Shape of a slot or a UserError naming the term and the missing slot.
export function slotShape(term: string, shapes: Record<string, number[]>, slot: string): number[] {
  const s = shapes[slot];
  if (!s) throw new UserError(`${term}: slot '${slot}' is not wired`);
  return s;
}

const fmt = (s: number[]) => `[${s.join(',')}]`;

// Two slots whose shapes must be identical (logits against logits, features under mse).
export function checkSameShape(term: string, shapes: Record<string, number[]>, a: string, c: string): void {
  const sa = slotShape(term, shapes, a);
  const sc = slotShape(term, shapes, c);
  if (sa.length !== sc.length || sa.some((d, i) => d !== sc[i])) {
    throw new UserError(`${term}: slots '${a}' ${fmt(sa)} and '${c}' ${fmt(sc)} must have the same shape`);
  }
}

// Two logits slots: the same shape [N, classes].
export function checkLogits(term: string, shapes: Record<string, number[]>, a: string, c: string): void {
  checkSameShape(term, shapes, a, c);
  const sa = shapes[a]!;
  if (sa.length !== 2)
    throw new UserError(`${term}: slots '${a}' and '${c}' must be logits [N, classes]; they are ${fmt(sa)}`);
}

// Two slots that must agree on rank and batch size (batch-relational and channel-free terms).
export function checkBatchAndRank(
  term: string,
  shapes: Record<string, number[]>,
  a: string,
  c: string,
  rank?: number,
): void {
  const sa = slotShape(term, shapes, a);
  const sc = slotShape(term, shapes, c);
  if (rank !== undefined && (sa.length !== rank || sc.length !== rank)) {
    throw new UserError(`${term}: slots '${a}' ${fmt(sa)} and '${c}' ${fmt(sc)} must both have rank ${rank}`);
  }
  if (sa.length < 2 || sc.length < 2)
    throw new UserError(`${term}: slots '${a}' ${fmt(sa)} and '${c}' ${fmt(sc)} need a batch axis and features`);
  if (sa[0] !== sc[0])
    throw new UserError(`${term}: slots '${a}' ${fmt(sa)} and '${c}' ${fmt(sc)} have different batch sizes`);
}

export { fmt as formatShape };
