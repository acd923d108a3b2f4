import { unaryRule } from '../unary.js';
// d softplus(x) = dy * sigmoid(x).
export const rule = unaryRule(['Softplus'], (b, dy, x) => b.mul(dy, b.op.Sigmoid!([x])));
