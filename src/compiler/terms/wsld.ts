// Weighted soft labels (WSLD, arXiv 2102.00650, bellymonster/Weighted-Soft-Label-Distillation `WSLDistiller`):
//   softCE_n = −Σ_c softmax(z_t/τ)_c · log softmax(z_s/τ)_c                      (cross-entropy, not KL)
//   w_n = 1 − exp(−max(CE(sg z_s, y)_n / (CE(z_t, y)_n + 1e-7), 0))              (at τ 1, no gradient)
//   L = τ²·mean_n(w_n · softCE_n).
// A sample the student already fits better than the teacher (small ratio) gets a small weight: the teacher's soft
// labels are trusted less where they would add bias. Defaults τ 4 (the KD recipe on CIFAR-100) [unverified: the
// reference code ships ImageNet, τ 2 with α 2.25].
import type { Value } from '../../ir/graph.js';
import { checkLogits } from './_common.js';
import type { LossTermDef } from './types.js';

// KD whose per-sample weight follows the student-to-teacher cross-entropy ratio.
export const term: LossTermDef = {
  name: 'wsld',
  describe: 'weighted soft labels: τ²·mean(w·softCE(teacher, student)), w = 1 − exp(−CE_s/CE_t)',
  needsLabels: true,
  paper: 'arXiv 2102.00650',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: { tau: 4 },
  label: (o) => `τ ${o.tau}`,
  check: (shapes) => checkLogits('wsld', shapes, 'student', 'teacher'),
  build: ({ b, labels, taps, options, stop }) => {
    const tau = options.tau ?? 4;
    const n = taps.student!.shape[0]!;
    const pt = b.op.Softmax!([b.div(taps.teacher!, tau)], { axis: 1 });
    const softCE = b.neg(
      b.reduceSum(b.mul(pt, b.op.LogSoftmax!([b.div(taps.student!, tau)], { axis: 1 })), [1], false),
    );
    const ce = (z: Value) => b.neg(b.reduceSum(b.mul(labels, b.op.LogSoftmax!([z], { axis: 1 })), [1], false));
    const ratio = b.div(ce(stop(taps.student!)), b.add(ce(taps.teacher!), 1e-7));
    const w = b.sub(1, b.op.Exp!([b.neg(b.op.Max!([ratio, 0]))]));
    return b.mul(b.reduceSum(b.mul(w, softCE), [0], false), (tau * tau) / n);
  },
};
