import { unaryRule } from '../unary.js';
// d (1/x) = -dy / x^2 = -dy * y^2.
export const rule = unaryRule(['Reciprocal'], (b, dy, _x, y) => b.neg(b.mul(dy, b.mul(y, y))));
