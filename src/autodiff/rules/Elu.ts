import { unaryRule } from '../unary.js';
// y = x (x > 0), alpha * (exp(x) - 1) otherwise:  dx = dy (x > 0), dy * (y + alpha) otherwise (reuses y).
export const rule = unaryRule(['Elu'], (b, dy, x, y, node) => {
  const alpha = node.attrFloat('alpha', 1);
  return b.op.Where!([b.op.Greater!([x, 0]), dy, b.mul(dy, b.add(y, alpha))]);
});
