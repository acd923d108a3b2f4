import { extremumRule } from './_extremum.js';
// d min(x_1..x_k) = dy to the inputs equal to the output, ties split evenly (see _extremum.ts).
export const rule = extremumRule('Min');
