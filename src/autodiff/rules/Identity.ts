import { unaryRule } from '../unary.js';
// Identity and inference-mode Dropout pass the gradient through unchanged.
export const rule = unaryRule(['Identity'], (_b, dy) => dy);
