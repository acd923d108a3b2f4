import { UserError } from '../util/errors.js';
import { ceTerms, noStagesReason, stagePairs, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// Attention transfer (arXiv 1612.03928) as RepDistiller: CE + 1000·Σ_i AT(f_i) over the last three stage outputs.
export const method: MethodDef = {
  name: 'at',
  describe:
    'attention transfer: CE + 1000·Σ over the last three stages of the squared distance of normalised attention maps',
  paper: 'arXiv 1612.03928',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'at');
    return [
      ...ceTerms(ctx, 1),
      ...ctx.students.flatMap((s) => {
        const pairs = stagePairs(ctx, s, t, 3);
        if (!pairs.length) {
          const which = ctx.stages(s).length ? t : s;
          throw new UserError(
            `at needs 4-D stage taps on both networks: ${noStagesReason(ctx, which)}`,
            'attention transfer pools the channels of a spatial map [N, C, H, W]; for a transformer use kd, dkd, sp or pkt',
          );
        }
        return pairs.map(([a, b]) => ({
          term: 'at',
          name: termName(`at.${a}`, s, ctx),
          taps: { student: `${s}.${a}`, teacher: `${t}.${b}` },
          weight: 1000,
        }));
      }),
    ];
  },
};
