import { UserError } from '../util/errors.js';
import { ceTerms, stagePairs, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// Similarity-preserving KD (arXiv 1907.09682) as RepDistiller: CE + 3000·SP on the last stage output (before pooling).
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
        const [pair] = stagePairs(ctx, s, t, 1);
        if (!pair) throw new UserError(`sp needs 4-D stage taps on both networks ('${s}' and '${t}')`);
        return { term: 'sp', name: termName('sp', s, ctx), taps: { student: `${s}.${pair[0]}`, teacher: `${t}.${pair[1]}` }, weight: 3000 };
      }),
    ];
  },
};
