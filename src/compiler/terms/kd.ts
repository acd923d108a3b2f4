// Hinton KD (arXiv 1503.02531), as RepDistiller's DistillKL:
//   L = τ² · (1/N) Σ_n Σ_c p_t (log p_t − log p_s),  p_t = softmax(z_t/τ), log p = log_softmax(z/τ)  (batchmean KL).
// log p_t comes from LogSoftmax (not Log of the softmax) so classes whose probability underflows stay finite.
// standardize 1: both logits z-scored first (arXiv 2403.01427; see _common.ts standardize).
import { checkLogits, lsLabel, maybeStandardize, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// The classic soft-target term: the student matches the teacher's tempered class distribution.
export const term: LossTermDef = {
  name: 'kd',
  describe: 'Hinton KD: τ²·KL(σ_τ(teacher) ‖ σ_τ(student)), batchmean',
  paper: 'arXiv 1503.02531',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: { tau: 4, standardize: 0 },
  label: (o) => `τ ${o.tau}${lsLabel(o)}`,
  check: (shapes) => checkLogits('kd', shapes, 'student', 'teacher'),
  build: ({ b, taps, options }) =>
    softKL(
      b,
      maybeStandardize(b, taps.student!, options),
      maybeStandardize(b, taps.teacher!, options),
      options.tau ?? 4,
    ),
};
