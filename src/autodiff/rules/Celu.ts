import { unaryRule } from '../unary.js';
// y = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)):  dx = dy (x > 0), dy * exp(x / alpha) = dy * (y / alpha + 1) otherwise.
export const rule = unaryRule(['Celu'], (b, dy, x, y, node) => {
  const alpha = node.attrFloat('alpha', 1);
  return b.op.Where!([b.op.Greater!([x, 0]), dy, b.mul(dy, b.add(b.mul(y, 1 / alpha), 1))]);
});
