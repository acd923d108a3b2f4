import { unaryRule } from '../unary.js';
// d sqrt(x) = dy / (2 sqrt(x)) = 0.5 * dy / y.
export const rule = unaryRule(['Sqrt'], (b, dy, _x, y) => b.div(b.mul(dy, 0.5), y));
