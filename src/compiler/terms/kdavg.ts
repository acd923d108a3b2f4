// MGD's stable excitation (arXiv 2108.06681, methods.md §4(b) MAS): Hinton KD towards the mean of three teacher
// logit heads, z̄ = (z_T + z_a + z_d) / 3,  L = τ²·KL(σ_τ(sg z̄) ‖ σ_τ(z_S)), batchmean.
// standardize 1: the mean and the student's logits z-scored first (arXiv 2403.01427).
import { checkLogits, lsLabel, maybeStandardize, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// KD whose target is the average of the teacher's own logits and its two granularity decoders.
export const term: LossTermDef = {
  name: 'kdavg',
  describe: 'KD towards the mean of three teacher logit heads (MGD stable excitation), τ²·KL, batchmean',
  paper: 'arXiv 2108.06681',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
    { name: 'head1', tap: 'logits', target: true },
    { name: 'head2', tap: 'logits', target: true },
  ],
  defaults: { tau: 4, standardize: 0 },
  label: (o) => `τ ${o.tau}${lsLabel(o)}`,
  check: (shapes) => {
    for (const h of ['teacher', 'head1', 'head2']) checkLogits('kdavg', shapes, 'student', h);
  },
  build: ({ b, taps, options }) => {
    const mean = b.div(b.add(b.add(taps.teacher!, taps.head1!), taps.head2!), 3);
    return softKL(b, maybeStandardize(b, taps.student!, options), maybeStandardize(b, mean, options), options.tau ?? 4);
  },
};
