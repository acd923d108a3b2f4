import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// Decoupled KD (arXiv 2203.08679) as mdistiller: CE + min(epoch/20, 1)·(α·TCKD + β·NCKD), α 1, β 8, τ 4.
export const method: MethodDef = {
  name: 'dkd',
  describe: 'decoupled KD: CE + target-class (α 1) and non-target-class (β 8) KD at τ 4, warmed up over 20 epochs',
  paper: 'arXiv 2203.08679',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) =>
    ceAndTeacherTerm(ctx, 1, {
      term: 'dkd',
      options: { alpha: 1, beta: 8, tau: ctx.tau ?? 4 },
      weight: 1,
      schedule: { kind: 'warmup', epochs: 20 },
    }),
};
