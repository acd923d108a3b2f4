import { PSEUDO_DOMAIN, reduceNHW } from '../pseudo.js';
import type { GradRuleDef } from '../types.js';

// Fused training-mode BatchNorm backward (batch statistics), with g = dy * gamma and M = N*H*W:
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  dgamma = sum(dy * xhat),  dbeta = sum(dy).
export const rule: GradRuleDef = {
  ops: ['BatchNormTrain'],
  domain: PSEUDO_DOMAIN,
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const scale = node.input(1);
    const xhat = node.outputs[3]!;
    const invstd = node.outputs[4]!;
    const c = scale.shape;
    const bshape = xhat.shape.map((d, i) => (i === 1 ? d : 1));
    const dyXhat = b.mul(dy, xhat);
    const sumDyXhat = reduceNHW(b, dyXhat, 'ReduceSum');
    const sumDy = reduceNHW(b, dy, 'ReduceSum');
    const grads = [];
    if (needs[0]) {
      const m = xhat.shape.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
      const gamma = b.reshape(scale, bshape);
      // mean(g) = gamma*sum(dy)/M ; mean(g*xhat) = gamma*sum(dy*xhat)/M
      const meanG = b.mul(sumDy, 1 / m);
      const meanGX = b.mul(sumDyXhat, 1 / m);
      const inner = b.sub(b.sub(dy, meanG), b.mul(xhat, meanGX));
      grads[0] = b.mul(inner, b.mul(gamma, invstd));
    }
    if (needs[1]) grads[1] = b.reshape(sumDyXhat, [...c]);
    if (needs[2]) grads[2] = b.reshape(sumDy, [...c]);
    return grads;
  },
};
