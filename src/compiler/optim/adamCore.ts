import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import type { GroupHyper, StepScalars } from './types.js';

// The shared Adam moment update in torch.optim.Adam's operation order:
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps).
export function adamStep(
  b: Builder,
  p: Value,
  g: Value,
  m: Value,
  v: Value,
  s: StepScalars,
  h: GroupHyper,
): { param: Value; state: Value[] } {
  const nm = b.add(b.mul(m, h.beta1), b.mul(g, 1 - h.beta1));
  const nv = b.add(b.mul(v, h.beta2), b.mul(b.mul(g, g), 1 - h.beta2));
  const denom = b.add(b.div(b.op.Sqrt!([nv]), b.op.Sqrt!([s.bc2!])), h.eps);
  const stepSize = b.div(s.lr, s.bc1!);
  return { param: b.sub(p, b.mul(b.div(nm, denom), stepSize)), state: [nm, nv] };
}
