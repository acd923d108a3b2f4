import { unaryRule } from '../unary.js';
// d sigmoid(x) = dy * y * (1 - y).
export const rule = unaryRule(['Sigmoid'], (b, dy, _x, y) => b.mul(dy, b.mul(y, b.sub(1, y))));
