import { unaryRule } from '../unary.js';
// d tanh(x) = dy * (1 - y^2).
export const rule = unaryRule(['Tanh'], (b, dy, _x, y) => b.mul(dy, b.sub(1, b.mul(y, y))));
