// Normalized KD (NKD, arXiv 2303.13005, yzd-v/cls_KD `mmcls/models/losses/nkd.py`), with y the label and ŷ the rest:
//   L_t   = −mean_n(T_y · log S_y),  T = softmax(z_t), log S = log_softmax(z_s)             (τ 1 on the target)
//   L_non = −γ·τ²·mean_n Σ_{c≠y} T̂_c · log Ŝ_c,  T̂ = softmax(z_t/τ over c≠y), Ŝ likewise   (renormalised non-targets)
//   L = L_t + L_non.
// The paper drops the target class before renormalising; one released copy builds its mask with scatter_(1, y, 1),
// which keeps every class. We implement the paper's intent: the target's z/τ is lowered by 1000 (as DKD's NCKD
// does), so T̂_y = 0 exactly in float32 and the sum runs over the other classes. Defaults τ 1, γ 1.5 (the code's).
import { checkLogits } from './_common.js';
import type { LossTermDef } from './types.js';

// KD split into a target term weighted by the teacher's confidence and a normalised non-target KD.
export const term: LossTermDef = {
  name: 'nkd',
  describe: 'normalized KD: −T_y·log S_y − γ·τ²·Σ_{c≠y} T̂_c·log Ŝ_c (non-targets renormalised)',
  needsLabels: true,
  paper: 'arXiv 2303.13005',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: { tau: 1, gamma: 1.5 },
  label: (o) => `τ ${o.tau} γ ${o.gamma}`,
  check: (shapes) => checkLogits('nkd', shapes, 'student', 'teacher'),
  build: ({ b, labels, taps, options }) => {
    const tau = options.tau ?? 1;
    const n = taps.student!.shape[0]!;
    const s = taps.student!,
      t = taps.teacher!;
    const tTarget = b.reduceSum(b.mul(b.op.Softmax!([t], { axis: 1 }), labels), [1], false);
    const sTarget = b.reduceSum(b.mul(b.op.LogSoftmax!([s], { axis: 1 }), labels), [1], false);
    const lossT = b.mul(b.reduceSum(b.mul(tTarget, sTarget), [0], false), -1 / n);
    const mask = b.mul(labels, 1000);
    const tHat = b.op.Softmax!([b.sub(b.div(t, tau), mask)], { axis: 1 });
    const logSHat = b.op.LogSoftmax!([b.sub(b.div(s, tau), mask)], { axis: 1 });
    const lossNon = b.mul(b.reduceSum(b.mul(tHat, logSHat), [0, 1], false), (-(options.gamma ?? 1.5) * tau * tau) / n);
    return b.add(lossT, lossNon);
  },
};
