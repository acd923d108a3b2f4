import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
import { normBackward, normStats } from './_norm-util.js';

// y = xhat * scale[c] + bias[c], xhat standardised over the spatial axes of each (sample, channel); also the core of
// torch's GroupNorm export (Reshape to [N, G, -1], InstanceNormalization with unit scale, Reshape back, Mul, Add):
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * scale,  dscale = sum_{n,hw}(dy * xhat), dbias = sum_{n,hw}(dy).
export const rule: GradRuleDef = {
  ops: ['InstanceNormalization'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, scale] = [node.input(0), node.input(1)];
    const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
    const s = normStats(b, x, axes, node.attrFloat('epsilon', 1e-5));
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const c = [x.shape[1]!];
    const sumNS = (v: Value) => b.reshape(b.reduceSum(b.reduceSum(v, axes, true), [0], true), c);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = normBackward(b, b.mul(dy, b.reshape(scale, bshape)), s, axes);
    if (needs[1]) grads[1] = sumNS(b.mul(dy, s.xhat));
    if (needs[2]) grads[2] = sumNS(dy);
    return grads;
  },
};
