import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// Probabilistic knowledge transfer (arXiv 1803.10837) as RepDistiller: CE + 30000·PKT on the pooled embeddings.
export const method: MethodDef = {
  name: 'pkt',
  describe: 'probabilistic knowledge transfer: CE + 30000·KL between the cosine-kernel distributions of the embeddings',
  paper: 'arXiv 1803.10837',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 1, { term: 'pkt', tap: 'embedding', weight: 30000 }),
};
