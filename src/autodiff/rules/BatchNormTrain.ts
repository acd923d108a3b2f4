import { channelAffine, PSEUDO_DOMAIN, reduceNHW } from '../pseudo.js';
import type { GradRuleDef } from '../types.js';

// Fused training-mode BatchNorm backward (batch statistics), from the forward's centred input xc = x - mean and
// invstd, with M = N*H*W, k = gamma*invstd, xhat = xc*invstd:
//   dgamma = sum(dy * xhat) = invstd * sum(dy * xc),  dbeta = sum(dy),
//   dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)) = k*dy + a*xc + c,  a = -k*invstd^2*sum(dy*xc)/M, c = -k*sum(dy)/M.
// Written so that only four full-size tensors are written (dy*xc, k*dy, a*xc + c in one pass, the sum), not six.
export const rule: GradRuleDef = {
  ops: ['BatchNormTrain'],
  domain: PSEUDO_DOMAIN,
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const scale = node.input(1);
    const xc = node.outputs[3]!;
    const invstd = node.outputs[4]!;
    const c = scale.shape;
    const bshape = xc.shape.map((d, i) => (i === 1 ? d : 1));
    const sumDyXc = reduceNHW(b, b.mul(dy, xc), 'ReduceSum');
    const sumDy = reduceNHW(b, dy, 'ReduceSum');
    const grads = [];
    if (needs[0]) {
      const m = xc.shape.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
      const k = b.mul(b.reshape(scale, bshape), invstd);
      const a = b.mul(b.mul(k, b.mul(invstd, invstd)), b.mul(sumDyXc, -1 / m));
      const shift = b.mul(k, b.mul(sumDy, -1 / m));
      grads[0] = b.add(b.mul(dy, k), channelAffine(b, xc, a, shift));
    }
    if (needs[1]) grads[1] = b.reshape(b.mul(sumDyXc, invstd), [...c]);
    if (needs[2]) grads[2] = b.reshape(sumDy, [...c]);
    return grads;
  },
};
