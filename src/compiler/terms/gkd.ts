// MGD granularity-wise distillation (arXiv 2108.06681, methods.md §4(b)): the student's own encoder
// E^S = Linear(D_s,D_s)→ReLU→Linear(D_s,d) on its embedding, its output read as logits over the d code dimensions:
//   L = τ²·KL(σ_τ(sg E^T(h^T)) ‖ σ_τ(E^S(h^S))), batchmean; d 64 at τ 2, d 256 at τ 8 in the reference code.
// The encoder is a module of this term, trained with the student (gradients reach the student's backbone).
// standardize 1: both codes z-scored first (arXiv 2403.01427).
import { UserError } from '../../util/errors.js';
import { linear } from '../../models/heads.js';
import { formatShape, lsLabel, maybeStandardize, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// Matches the teacher's code distribution at one granularity through a student encoder.
export const term: LossTermDef = {
  name: 'gkd',
  describe: 'granularity KD: τ²·KL(σ_τ(teacher code) ‖ σ_τ(student encoder(embedding))), batchmean',
  paper: 'arXiv 2108.06681',
  slots: [
    { name: 'student', tap: 'embedding' },
    { name: 'teacher', tap: 'code', target: true },
  ],
  defaults: { tau: 2, standardize: 0 },
  label: (o) => `τ ${o.tau}${lsLabel(o)}`,
  check: (shapes) => {
    const s = shapes.student!,
      t = shapes.teacher!;
    if (s.length !== 2 || t.length !== 2 || s[0] !== t[0])
      throw new UserError(
        `gkd: slots 'student' ${formatShape(s)} and 'teacher' ${formatShape(t)} must be [N, D] embeddings and [N, d] codes of one batch`,
      );
  },
  build: ({ b, taps, options, module }) => {
    const h = taps.student!;
    const d = taps.teacher!.shape[1]!;
    const code = linear(
      b,
      b.op.Relu!([linear(b, h, 'enc.0', h.shape[1]!, module.param, module.rng)]),
      'enc.2',
      d,
      module.param,
      module.rng,
    );
    return softKL(b, maybeStandardize(b, code, options), maybeStandardize(b, taps.teacher!, options), options.tau ?? 2);
  },
};
