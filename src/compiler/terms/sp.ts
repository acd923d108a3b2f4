// Similarity-preserving KD (arXiv 1907.09682), as RepDistiller's Similarity.similarity_loss:
//   F = f.view(N, −1),  G = F.normalize(F Fᵀ)  (rows),  L = Σ (G_t − G_s)² / N².
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { checkBatchAndRank, flatten2, normalizeRows, sumAll } from './_common.js';
import type { LossTermDef } from './types.js';

// Row-normalised batch Gram matrix [N, N] of flattened features (methods.md §1.4 gram_rows).
export function gramRows(b: Builder, f: Value): Value {
  const x = flatten2(b, f);
  return normalizeRows(b, b.matmul(x, b.transpose(x, [1, 0])));
}

// Matches which samples of the batch look alike, so feature widths need not agree.
export const term: LossTermDef = {
  name: 'sp',
  describe: 'similarity-preserving: ‖G_t − G_s‖²_F / N², G = row-normalised batch Gram matrix',
  paper: 'arXiv 1907.09682',
  slots: [
    { name: 'student', tap: 'f3' },
    { name: 'teacher', tap: 'f3', target: true },
  ],
  defaults: {},
  check: (shapes) => checkBatchAndRank('sp', shapes, 'student', 'teacher'),
  build: ({ b, taps }) => {
    const n = taps.student!.shape[0]!;
    const d = b.sub(gramRows(b, taps.teacher!), gramRows(b, taps.student!));
    return b.mul(sumAll(b, b.mul(d, d)), 1 / (n * n));
  },
};
