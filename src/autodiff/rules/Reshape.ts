import { reshapeBackRule } from './_reshapeBack.js';
// d reshape(x) = dy reshaped back to x's shape (no data moves).
export const rule = reshapeBackRule('Reshape');
