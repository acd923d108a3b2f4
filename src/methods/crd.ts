import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// CRD (arXiv 1910.10699) as RepDistiller's CIFAR-100 recipe (`--distill crd -r 1 -a 0 -b 0.8`): CE + 0.8·NCE of the
// students' and teacher's embeddings against memory banks of every training sample (16,384 negatives, T 0.07).
export const method: MethodDef = {
  name: 'crd',
  describe:
    'contrastive representation distillation: CE + 0.8·NCE of embedding heads against memory banks of other samples',
  paper: 'arXiv 1910.10699',
  teacher: 'frozen',
  minStudents: 1,
  loopOnly: true,
  terms: (ctx) => {
    if (!ctx.trainSize) throw new Error('crd: the run did not give the training split size its memory banks need');
    return ceAndTeacherTerm(ctx, 1, { term: 'crd', tap: 'embedding', options: { n_data: ctx.trainSize }, weight: 0.8 });
  },
};
