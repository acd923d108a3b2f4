import { UserError } from '../util/errors.js';
import { ceTerms, lastFeature, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// Similarity-preserving KD (arXiv 1907.09682) as RepDistiller: CE + 3000·SP on the last stage output (before pooling);
// on a transformer, its last block's token map (SP flattens any feature).
export const method: MethodDef = {
  name: 'sp',
  describe: 'similarity-preserving KD: CE + 3000·distance of the batch similarity matrices of the last stage',
  paper: 'arXiv 1907.09682',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'sp');
    return [
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => {
        // SP compares batch similarity matrices of flattened features, so a transformer's last block serves as well.
        const [fs, ft] = [lastFeature(ctx, s), lastFeature(ctx, t)];
        if (!fs || !ft)
          throw new UserError(
            `sp needs a stage map or transformer block on both networks; '${fs ? t : s}' has neither`,
          );
        return {
          term: 'sp',
          name: termName('sp', s, ctx),
          taps: { student: `${s}.${fs}`, teacher: `${t}.${ft}` },
          weight: 3000,
        };
      }),
    ];
  },
};
