import { adamStep } from './adamCore.js';
import type { OptimizerDef } from './types.js';

// torch.optim.Adam with coupled L2 weight decay (g += wd*p before the moments).
export const optimizer: OptimizerDef = {
  name: 'adam',
  slots: ['exp_avg', 'exp_avg_sq'],
  biasCorrection: true,
  update(b, p, grad, [m, v], s, h) {
    const g = h.weightDecay ? b.add(grad, b.mul(p, h.weightDecay)) : grad;
    return adamStep(b, p, g, m!, v!, s, h);
  },
};
