import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// Hinton KD (arXiv 1503.02531): 0.1·CE + 0.9·τ²·KL(σ_τ(teacher) ‖ σ_τ(student)), τ 4 (RepDistiller / mdistiller defaults).
export const method: MethodDef = {
  name: 'kd',
  describe: 'Hinton knowledge distillation from a frozen teacher (0.1·CE + 0.9·KD at τ 4)',
  paper: 'arXiv 1503.02531',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 0.1, { term: 'kd', options: { tau: ctx.tau ?? 4 }, weight: 0.9 }),
};
