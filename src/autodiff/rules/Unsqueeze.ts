import { reshapeBackRule } from './_reshapeBack.js';
// d unsqueeze(x) = dy reshaped back to x's shape (no data moves).
export const rule = reshapeBackRule('Unsqueeze');
