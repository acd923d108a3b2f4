import { adamStep } from './adamCore.js';
import type { OptimizerDef } from './types.js';

// torch.optim.AdamW: decoupled decay p *= 1 - lr*wd, then the Adam step on the raw gradient.
export const optimizer: OptimizerDef = {
  name: 'adamw',
  slots: ['exp_avg', 'exp_avg_sq'],
  biasCorrection: true,
  update(b, p, grad, [m, v], s, h) {
    const decayed = h.weightDecay ? b.mul(p, b.sub(1, b.mul(s.lr, h.weightDecay))) : p;
    return adamStep(b, decayed, grad, m!, v!, s, h);
  },
};
