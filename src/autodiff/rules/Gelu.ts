import { unaryRule } from '../unary.js';
// Gelu (opset 20), y = x * Phi(x):
//   approximate 'none':  dx = dy * (Phi(x) + x * phi(x)),  Phi(x) = (1 + erf(x / sqrt 2)) / 2,  phi(x) = exp(-x^2 / 2) / sqrt(2 pi);
//   approximate 'tanh':  y = x/2 * (1 + t), t = tanh(u), u = c (x + 0.044715 x^3), c = sqrt(2/pi):
//                        dx = dy * (1/2 (1 + t) + x/2 (1 - t^2) c (1 + 3 * 0.044715 x^2)).
export const rule = unaryRule(['Gelu'], (b, dy, x, _y, node) => {
  if (node.attrString('approximate', 'none') === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const x2 = b.mul(x, x);
    const t = b.op.Tanh!([b.mul(b.mul(x, b.add(b.mul(x2, 0.044715), 1)), c)]);
    const du = b.mul(b.add(b.mul(x2, 3 * 0.044715), 1), c);
    const d = b.add(b.mul(b.add(t, 1), 0.5), b.mul(b.mul(b.mul(x, 0.5), b.sub(1, b.mul(t, t))), du));
    return b.mul(dy, d);
  }
  const cdf = b.mul(b.add(b.op.Erf!([b.mul(x, Math.SQRT1_2)]), 1), 0.5);
  const pdf = b.mul(b.op.Exp!([b.mul(b.mul(x, x), -0.5)]), 1 / Math.sqrt(2 * Math.PI));
  return b.mul(dy, b.add(cdf, b.mul(x, pdf)));
});
