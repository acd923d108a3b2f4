import type { OptimizerDef } from './types.js';

// torch.optim.SGD (dampening 0): g += wd*p; buf = mu*buf + g; g = nesterov ? g + mu*buf : buf; p -= lr*g.
// The first step's buf = g holds because buf starts at zero.
export const optimizer: OptimizerDef = {
  name: 'sgd',
  slots: ['momentum_buffer'],
  biasCorrection: false,
  update(b, p, grad, [buf], { lr }, h) {
    const g = h.weightDecay ? b.add(grad, b.mul(p, h.weightDecay)) : grad;
    if (!h.momentum) return { param: b.sub(p, b.mul(g, lr)), state: [buf!] };
    const nb = b.add(b.mul(buf!, h.momentum), g);
    const step = h.nesterov ? b.add(g, b.mul(nb, h.momentum)) : nb;
    return { param: b.sub(p, b.mul(step, lr)), state: [nb] };
  },
};
