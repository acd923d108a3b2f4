// Deep Mutual Learning peer term (arXiv 1706.00384): KL(σ_τ(z_peer) ‖ σ_τ(z_student)) with batchmean reduction,
//   L = τ² · (1/N) Σ_n Σ_c p_peer (log p_peer − log p_s);  τ = 1 in DML, so the τ² factor (kept as in kd) is 1.
import { checkLogits, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// One peer's predictions as a constant target for another peer (DML, KD + peer learning).
export const term: LossTermDef = {
  name: 'kl',
  describe: 'peer KL (DML): τ²·KL(σ_τ(peer) ‖ σ_τ(student)), batchmean, τ 1 by default',
  paper: 'arXiv 1706.00384',
  slots: [{ name: 'student', tap: 'logits' }, { name: 'peer', tap: 'logits', target: true }],
  defaults: { tau: 1 },
  label: (o) => (o.tau === 1 ? '' : `τ ${o.tau}`),
  check: (shapes) => checkLogits('kl', shapes, 'student', 'peer'),
  build: ({ b, taps, options }) => softKL(b, taps.student!, taps.peer!, options.tau ?? 1),
};
