import { reduceExtremumRule } from './_reduceExtremum.js';
// d min(x, axes) = dy at the minima, split evenly between ties (see _reduceExtremum.ts).
export const rule = reduceExtremumRule('ReduceMin');
