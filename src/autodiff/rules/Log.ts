import { unaryRule } from '../unary.js';
// d log(x) = dy / x.
export const rule = unaryRule(['Log'], (b, dy, x) => b.div(dy, x));
