import { unaryRule } from '../unary.js';
// d |x| = dy * sign(x) (0 at 0, as in PyTorch).
export const rule = unaryRule(['Abs'], (b, dy, x) => b.mul(dy, b.op.Sign!([x])));
