import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
import { normBackward, normStats } from './_norm-util.js';

// Per-channel view of a GroupNormalization scale or bias: opset 21 gives one per channel, opset 18 one per group
// (told apart by length; when groups == channels both read the same).
function perChannel(b: Builder, v: Value, groups: number, channels: number): Value {
  if (v.shape[0] === channels) return v;
  return b.reshape(b.op.Expand!([b.reshape(v, [groups, 1]), b.constant([groups, channels / groups], 'int64')]), [
    channels,
  ]);
}

// y = xhat * scale + bias, xhat standardised over each group of C/G channels and the spatial axes (Wu & He 2018,
// arXiv 1803.08494). With x viewed as [N, G, C/G * HW] it is a LayerNorm over the last axis:
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * scale[c],  dscale = sum_{n,hw}(dy * xhat), dbias = sum_{n,hw}(dy)
// (the per-channel sums then summed within each group when scale is per group).
export const rule: GradRuleDef = {
  ops: ['GroupNormalization'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, scale] = [node.input(0), node.input(1)];
    const groups = node.attrInt('num_groups');
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const grouped = [n, groups, x.shape.slice(1).reduce((p, d) => p * d, 1) / groups];
    const s = normStats(b, b.reshape(x, grouped), [2], node.attrFloat('epsilon', 1e-5));
    const xhat = b.reshape(s.xhat, [...x.shape]);
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
    const sumNS = (v: Value, like: Value) => {
      const perC = b.reshape(b.reduceSum(axes.length ? b.reduceSum(v, axes, true) : v, [0], true), [c]);
      return like.shape[0] === c ? perC : b.reduceSum(b.reshape(perC, [groups, c / groups]), [1], false);
    };
    const grads: (Value | undefined)[] = [];
    if (needs[0]) {
      const g = b.mul(dy, b.reshape(perChannel(b, scale, groups, c), bshape));
      grads[0] = b.reshape(normBackward(b, b.reshape(g, grouped), s, [2]), [...x.shape]);
    }
    if (needs[1]) grads[1] = sumNS(b.mul(dy, xhat), scale);
    if (needs[2]) grads[2] = sumNS(dy, node.input(2));
    return grads;
  },
};
