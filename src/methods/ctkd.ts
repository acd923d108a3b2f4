import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// CTKD (arXiv 2211.16231) as its CIFAR script: 0.1·CE + 0.9·τ²·KL at a learned global temperature
// τ = 1 + 20·sigmoid(g), g trained through gradient reversal with λ ramped 0 → 1 by cosine over 10 epochs.
export const method: MethodDef = {
  name: 'ctkd',
  describe: 'curriculum temperature KD: 0.1·CE + 0.9·KD at a temperature learned adversarially (λ 0→1 over 10 epochs)',
  paper: 'arXiv 2211.16231',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 0.1, { term: 'ctkd', weight: 0.9 }),
};
