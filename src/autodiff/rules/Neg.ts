import { unaryRule } from '../unary.js';
// d(-x) = -dy.
export const rule = unaryRule(['Neg'], (b, dy) => b.neg(dy));
