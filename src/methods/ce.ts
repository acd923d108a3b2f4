import { ceTerms } from './_terms.js';
import type { MethodDef } from './types.js';

// The baseline every method is compared with: each student alone on the labels.
export const method: MethodDef = {
  name: 'ce',
  describe: 'no distillation: each student trained on the labels alone (the baseline)',
  teacher: 'none',
  minStudents: 1,
  terms: (ctx) => ceTerms(ctx, 1),
};
