import { ceTerms, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// Probabilistic knowledge transfer (arXiv 1803.10837) as RepDistiller: CE + 30000·PKT on the pooled embeddings.
export const method: MethodDef = {
  name: 'pkt',
  describe: 'probabilistic knowledge transfer: CE + 30000·KL between the cosine-kernel distributions of the embeddings',
  paper: 'arXiv 1803.10837',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'pkt');
    return [
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => ({
        term: 'pkt',
        name: termName('pkt', s, ctx),
        taps: { student: `${s}.embedding`, teacher: `${t}.embedding` },
        weight: 30000,
      })),
    ];
  },
};
