import { reshapeBackRule } from './_reshapeBack.js';
// d flatten(x) = dy reshaped back to x's shape (no data moves).
export const rule = reshapeBackRule('Flatten');
