import { unaryRule } from '../unary.js';
// y = gamma * x (x > 0), gamma * alpha * (exp(x) - 1) otherwise:  dx = dy * gamma (x > 0), dy * (y + gamma * alpha) otherwise.
export const rule = unaryRule(['Selu'], (b, dy, x, y, node) => {
  const alpha = node.attrFloat('alpha', 1.67326319217681884765625);
  const gamma = node.attrFloat('gamma', 1.05070102214813232421875);
  return b.op.Where!([b.op.Greater!([x, 0]), b.mul(dy, gamma), b.mul(dy, b.add(y, gamma * alpha))]);
});
