import { mask, unaryRule } from '../unary.js';
// y = clip(alpha*x + beta, 0, 1); dy/dx = alpha where 0 < alpha*x + beta < 1.
export const rule = unaryRule(['HardSigmoid'], (b, dy, x, _y, node) => {
  const alpha = node.attrFloat('alpha', 0.2);
  const beta = node.attrFloat('beta', 0.5);
  const z = b.add(b.mul(x, alpha), beta);
  const inside = b.mul(mask(b, b.op.Greater!([z, 0])), mask(b, b.op.Less!([z, 1])));
  return b.mul(dy, b.mul(inside, alpha));
});
