import { ceTerms, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// Hinton KD (arXiv 1503.02531): 0.1·CE + 0.9·τ²·KL(σ_τ(teacher) ‖ σ_τ(student)), τ 4 (RepDistiller / mdistiller defaults).
export const method: MethodDef = {
  name: 'kd',
  describe: 'Hinton knowledge distillation from a frozen teacher (0.1·CE + 0.9·KD at τ 4)',
  paper: 'arXiv 1503.02531',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'kd');
    return [
      ...ceTerms(ctx, 0.1),
      ...ctx.students.map((s) => ({
        term: 'kd',
        name: termName('kd', s, ctx),
        taps: { student: `${s}.logits`, teacher: `${t}.logits` },
        options: { tau: ctx.tau ?? 4 },
        weight: 0.9,
      })),
    ];
  },
};
