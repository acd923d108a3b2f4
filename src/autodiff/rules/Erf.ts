import { unaryRule } from '../unary.js';
// d erf(x) = dy * 2/sqrt(pi) * exp(-x^2).
export const rule = unaryRule(['Erf'], (b, dy, x) =>
  b.mul(dy, b.mul(b.op.Exp!([b.neg(b.mul(x, x))]), 2 / Math.sqrt(Math.PI))),
);
