import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// WSLD (arXiv 2102.00650): CE + 2.25·τ²·mean(w·softCE), w from the student/teacher CE ratio; τ 4 on CIFAR-size data.
// α 2.25 is the reference code's; its τ is 2 on ImageNet, 4 here as the KD recipe (see the term file).
export const method: MethodDef = {
  name: 'wsld',
  describe: 'weighted soft labels: CE + 2.25·soft-label CE weighted per sample by the student/teacher CE ratio (τ 4)',
  paper: 'arXiv 2102.00650',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 1, { term: 'wsld', options: { tau: ctx.tau ?? 4 }, weight: 2.25 }),
};
