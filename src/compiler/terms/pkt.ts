// Probabilistic knowledge transfer (arXiv 1803.10837), as RepDistiller's PKT.cosine_similarity_loss (eps = 1e-7):
//   x̂ = x / (‖x‖₂ + eps) per row (NaN → 0),  K = (x̂ x̂ᵀ + 1) / 2,  P = K / rowsum(K),
//   L = mean over N² of P_t · log((P_t + eps) / (P_s + eps)).
// Inputs of rank > 2 are flattened to [N, −1] first [ours]; for an embedding [N, D] that is the identity.
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { checkBatchAndRank, flatten2, meanAll } from './_common.js';
import type { LossTermDef } from './types.js';

const EPS = 1e-7;

// Cosine-kernel conditional probabilities [N, N] of a batch (methods.md §1.4 cond_prob with the PKT kernel).
export function cosineCondProb(b: Builder, f: Value): Value {
  const x = flatten2(b, f);
  const norm = b.op.Sqrt!([b.op.ReduceSumSquare!([x, b.constant([1], 'int64')], { keepdims: 1 })]);
  const xn0 = b.div(x, b.add(norm, EPS));
  const xn = b.op.Where!([b.op.IsNaN!([xn0]), b.constant(0), xn0]);
  const k = b.mul(b.add(b.matmul(xn, b.transpose(xn, [1, 0])), 1), 0.5);
  return b.div(k, b.reduceSum(k, [1], true));
}

// Matches the teacher's neighbourhood probabilities in embedding space; embedding widths may differ.
export const term: LossTermDef = {
  name: 'pkt',
  describe: 'probabilistic knowledge transfer: KL between cosine-kernel conditional probabilities',
  paper: 'arXiv 1803.10837',
  slots: [
    { name: 'student', tap: 'embedding' },
    { name: 'teacher', tap: 'embedding', target: true },
  ],
  defaults: {},
  check: (shapes) => checkBatchAndRank('pkt', shapes, 'student', 'teacher'),
  build: ({ b, taps }) => {
    const ps = cosineCondProb(b, taps.student!);
    const pt = cosineCondProb(b, taps.teacher!);
    return meanAll(b, b.mul(pt, b.op.Log!([b.div(b.add(pt, EPS), b.add(ps, EPS))])));
  },
};
