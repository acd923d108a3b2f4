// Deep Mutual Learning peer term (arXiv 1706.00384): KL(σ_τ(z_peer) ‖ σ_τ(z_student)) with batchmean reduction,
//   L = τ² · (1/N) Σ_n Σ_c p_peer (log p_peer − log p_s);  τ = 1 in DML, so the τ² factor (kept as in kd) is 1.
// standardize 1: both logits z-scored first (arXiv 2403.01427; see _common.ts standardize).
import { checkLogits, lsLabel, maybeStandardize, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// One peer's predictions as a constant target for another peer (DML, KD + peer learning).
export const term: LossTermDef = {
  name: 'kl',
  describe: 'peer KL (DML): τ²·KL(σ_τ(peer) ‖ σ_τ(student)), batchmean, τ 1 by default',
  paper: 'arXiv 1706.00384',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'peer', tap: 'logits', target: true },
  ],
  defaults: { tau: 1, standardize: 0 },
  label: (o) => (o.tau === 1 ? (o.standardize ? 'LS' : '') : `τ ${o.tau}${lsLabel(o)}`),
  check: (shapes) => checkLogits('kl', shapes, 'student', 'peer'),
  build: ({ b, taps, options }) =>
    softKL(b, maybeStandardize(b, taps.student!, options), maybeStandardize(b, taps.peer!, options), options.tau ?? 1),
};
