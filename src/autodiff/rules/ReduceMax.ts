import { reduceExtremumRule } from './_reduceExtremum.js';
// d max(x, axes) = dy at the maxima, split evenly between ties (see _reduceExtremum.ts).
export const rule = reduceExtremumRule('ReduceMax');
