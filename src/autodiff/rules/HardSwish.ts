import { mask, unaryRule } from '../unary.js';
// y = x * relu6(x + 3) / 6; dy/dx = 0 for x < -3, (2x + 3)/6 for -3 <= x <= 3, 1 for x > 3 (PyTorch).
export const rule = unaryRule(['HardSwish'], (b, dy, x) => {
  const mid = b.div(b.add(b.mul(x, 2), 3), 6);
  const above = mask(b, b.op.Greater!([x, 3]));
  const inside = b.mul(mask(b, b.op.GreaterOrEqual!([x, -3])), b.sub(1, above));
  return b.mul(dy, b.add(b.mul(inside, mid), above));
});
