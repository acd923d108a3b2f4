import { UserError } from '../util/errors.js';
import { ceTerms, stagePairs, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// ReviewKD (arXiv 2104.09044) as its CIFAR-100 code: CE + min(epoch/20, 1)·HCL over the fused student levels; the levels
// are the last two stage outputs and the embedding of each network (the reference uses every stage).
export const method: MethodDef = {
  name: 'reviewkd',
  describe:
    "knowledge review: CE + hierarchical context loss of attention-fused student stages against the teacher's (warm-up 20 epochs)",
  paper: 'arXiv 2104.09044',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'reviewkd');
    return [
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => {
        const pairs = stagePairs(ctx, s, t, 2);
        if (pairs.length < 2)
          throw new UserError(
            `reviewkd needs two 4-D stage taps on both networks ('${s}' and '${t}'); found ${pairs.length}`,
          );
        const [[s1, t1], [s2, t2]] = pairs as [[string, string], [string, string]];
        return {
          term: 'reviewkd',
          name: termName('reviewkd', s, ctx),
          weight: 1,
          schedule: { kind: 'warmup' as const, epochs: 20 },
          taps: {
            s1: `${s}.${s1}`,
            s2: `${s}.${s2}`,
            s3: `${s}.embedding`,
            t1: `${t}.${t1}`,
            t2: `${t}.${t2}`,
            t3: `${t}.embedding`,
          },
        };
      }),
    ];
  },
};
