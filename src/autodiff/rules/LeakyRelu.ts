import { mask, unaryRule } from '../unary.js';
// d leaky_relu(x) = dy where x > 0, alpha * dy elsewhere.
export const rule = unaryRule(['LeakyRelu'], (b, dy, x, _y, node) => {
  const alpha = node.attrFloat('alpha', 0.01);
  const pos = mask(b, b.op.Greater!([x, 0]));
  return b.mul(dy, b.add(b.mul(pos, 1 - alpha), alpha));
});
