import { unaryRule } from '../unary.js';
// d exp(x) = dy * exp(x) = dy * y.
export const rule = unaryRule(['Exp'], (b, dy, _x, y) => b.mul(dy, y));
