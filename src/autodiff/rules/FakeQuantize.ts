import { PSEUDO_DOMAIN } from '../pseudo.js';
import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';

// Fake quantisation (the compiler's FakeQuantize pseudo-op, lowered to QuantizeLinear→DequantizeLinear after autodiff):
// y = (clamp(round(x/s) + z, qmin, qmax) − z)·s. Its true derivative is 0 almost everywhere, so training uses the
// straight-through estimator (Bengio et al. 2013, arXiv 1308.3432), clipped to the representable range as in Jacob et
// al. 2018 (arXiv 1712.05877) and PyTorch's fake_quantize_per_{tensor,channel}_affine_cachemask backward:
// dx = dy where qmin ≤ round(x/s) + z ≤ qmax, else 0. Scale and zero point get no gradient (they follow observed
// activation ranges or the weights, not learned as LSQ's, arXiv 1902.08153). Per-channel parameters broadcast along
// `axis`.
export const rule: GradRuleDef = {
  ops: ['FakeQuantize'],
  domain: PSEUDO_DOMAIN,
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    let s: Value = node.input(1);
    let z: Value = b.op.Cast!([node.input(2)], { to: 1 });
    if (s.rank === 1) {
      const axis = (node.attrInt('axis', 1) + x.rank) % x.rank;
      const along = Array.from({ length: x.rank }, (_, i) => (i === axis ? -1 : 1));
      s = b.reshape(s, along);
      z = b.reshape(z, along);
    }
    const q = b.add(b.op.Round!([b.div(x, s)]), z);
    const inside = b.op.And!([
      b.op.GreaterOrEqual!([q, b.constant(node.attrInt('qmin', 0))]),
      b.op.LessOrEqual!([q, b.constant(node.attrInt('qmax', 255))]),
    ]);
    return [b.op.Where!([inside, dy, b.constant(0, dy.dtype)])];
  },
};
