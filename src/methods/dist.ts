import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// DIST (arXiv 2205.10536) on CIFAR-100 as the paper: CE + τ²·(2·inter-class + 2·intra-class Pearson distance), τ 4.
export const method: MethodDef = {
  name: 'dist',
  describe: "DIST: CE + inter- and intra-class Pearson relations of the teacher's probabilities (β 2, γ 2, τ 4)",
  paper: 'arXiv 2205.10536',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 1, { term: 'dist', options: { tau: ctx.tau ?? 4 }, weight: 1 }),
};
