// Decoupled KD (arXiv 2203.08679), as mdistiller's dkd_loss, with g the one-hot labels (gt mask) and o = 1 − g:
//   p = softmax(z/τ);  b = [Σ p·g, Σ p·o]  (binary target / non-target split);  TCKD = τ²/N · Σ b_t (log b_t − log b_s)
//   p̂ = softmax(z/τ − 1000·g)  (target class masked out);                        NCKD = τ²/N · Σ p̂_t (log p̂_t − log p̂_s)
//   L = α·TCKD + β·NCKD.
// mdistiller's linear warm-up min(epoch/20, 1) is applied by the host through the term weight, not inside this term.
// standardize 1: both logits z-scored before the temperature (arXiv 2403.01427, as that repository's dkd_loss with
// logit_stand).
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { checkLogits, klSum, lsLabel, maybeStandardize } from './_common.js';
import type { LossTermDef } from './types.js';

// [Σ_c p·g, Σ_c p·o] per row: mdistiller's cat_mask (the non-target mass is summed, not taken as 1 − p_y).
function catMask(b: Builder, p: Value, gt: Value, other: Value): Value {
  const part = (m: Value) => b.reduceSum(b.mul(p, m), [1], true);
  return b.op.Concat!([part(gt), part(other)], { axis: 1 });
}

// TCKD and NCKD of one batch; exported so methods can weight the two parts separately.
export function dkdParts(
  b: Builder,
  student: Value,
  teacher: Value,
  gt: Value,
  tau: number,
): { tckd: Value; nckd: Value } {
  const scale = (tau * tau) / student.shape[0]!;
  const other = b.sub(1, gt);
  const s = b.div(student, tau);
  const t = b.div(teacher, tau);
  const binS = catMask(b, b.op.Softmax!([s], { axis: 1 }), gt, other);
  const binT = catMask(b, b.op.Softmax!([t], { axis: 1 }), gt, other);
  // torch.log on the student side as mdistiller; the teacher's log is clamped so an exact 0 adds 0 as kl_div does.
  const tckd = klSum(b, binT, b.op.Log!([b.op.Max!([binT, 1e-30])]), b.op.Log!([binS]));
  const s2 = b.sub(s, b.mul(gt, 1000));
  const t2 = b.sub(t, b.mul(gt, 1000));
  const nckd = klSum(
    b,
    b.op.Softmax!([t2], { axis: 1 }),
    b.op.LogSoftmax!([t2], { axis: 1 }),
    b.op.LogSoftmax!([s2], { axis: 1 }),
  );
  return { tckd: b.mul(tckd, scale), nckd: b.mul(nckd, scale) };
}

// Hinton KD split into target and non-target parts with separate weights, which lets β lift the non-target signal.
export const term: LossTermDef = {
  name: 'dkd',
  describe: 'decoupled KD: α·TCKD + β·NCKD (mdistiller dkd_loss; warm-up through the term weight)',
  paper: 'arXiv 2203.08679',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  needsLabels: true,
  defaults: { alpha: 1, beta: 8, tau: 4, standardize: 0 },
  label: (o) => `α ${o.alpha} β ${o.beta} τ ${o.tau}${lsLabel(o)}`,
  check: (shapes) => checkLogits('dkd', shapes, 'student', 'teacher'),
  build: ({ b, labels, taps, options }) => {
    const { tckd, nckd } = dkdParts(
      b,
      maybeStandardize(b, taps.student!, options),
      maybeStandardize(b, taps.teacher!, options),
      labels,
      options.tau ?? 4,
    );
    return b.add(b.mul(tckd, options.alpha ?? 1), b.mul(nckd, options.beta ?? 8));
  },
};
