// Finite-difference checks of every loss term on awkward sizes, through onnxruntime: the student slot and any
// regressor parameters get gradients; target slots and labels are constants (grad: false).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TERMS, termByName } from '../../../src/compiler/terms/index.js';
import { Runtime } from '../../../src/runtime/session.js';
import { gradcheck } from '../../autodiff/gradcheck.js';
import { termCheckCase, type TermCase } from './harness.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

const LABELS = [3, 0, 6, 2, 6];
// fitnet ends in BatchNorm -> ReLU: a pre-activation within the step of 0 is a kink that central differences straddle
// (seen with the default seed: slope jumps of 2·t/numel). A 1e-3 step with seed 1 has none; the same gradients are also
// checked against PyTorch in values.test.ts, where no finite step is involved.
const cases: { title: string; c: Omit<TermCase, 'term'> & { term: string }; scale?: number; eps?: number; seed?: number }[] = [
  { title: 'ce, N=5 C=7', c: { term: 'ce', shapes: { logits: [5, 7] } } },
  { title: 'ce label smoothing 0.1', c: { term: 'ce', shapes: { logits: [5, 7] }, options: { smoothing: 0.1 } } },
  { title: 'kd τ 4, N=5 C=7', c: { term: 'kd', shapes: { student: [5, 7], teacher: [5, 7] } } },
  { title: 'kd τ 1.5', c: { term: 'kd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 1.5 } } },
  { title: 'kl τ 1', c: { term: 'kl', shapes: { student: [5, 7], peer: [5, 7] } } },
  { title: 'mse on 5×3×4×4', c: { term: 'mse', shapes: { student: [5, 3, 4, 4], teacher: [5, 3, 4, 4] } } },
  { title: 'dkd α 1 β 8 τ 4', c: { term: 'dkd', shapes: { student: [5, 7], teacher: [5, 7] } } },
  { title: 'at 3×5×5 vs 4×5×5', c: { term: 'at', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] } }, scale: 100 },
  { title: 'at student 8×8 pooled to teacher 4×4', c: { term: 'at', shapes: { student: [5, 3, 8, 8], teacher: [5, 4, 4, 4] } }, scale: 100 },
  { title: 'at teacher 8×8 pooled to student 4×4', c: { term: 'at', shapes: { student: [5, 3, 4, 4], teacher: [5, 4, 8, 8] } }, scale: 100 },
  { title: 'at p 3 (Pow)', c: { term: 'at', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] }, options: { p: 3 } }, scale: 100 },
  { title: 'sp 3×5×5 vs 4×5×5', c: { term: 'sp', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] } }, scale: 100 },
  { title: 'pkt 6-d vs 9-d embeddings', c: { term: 'pkt', shapes: { student: [5, 6], teacher: [5, 9] } }, scale: 100 },
  { title: 'fitnet Conv 3×3 stride 2 (6×6 -> 3×3)', c: { term: 'fitnet', shapes: { student: [5, 3, 6, 6], teacher: [5, 2, 3, 3] } }, eps: 1e-3, seed: 1 },
  { title: 'fitnet ConvTranspose 4×4 (3×3 -> 6×6)', c: { term: 'fitnet', shapes: { student: [5, 3, 3, 3], teacher: [5, 2, 6, 6] } }, eps: 1e-3, seed: 1 },
  { title: 'fitnet Conv 3×2 (5×4 -> 3×3)', c: { term: 'fitnet', shapes: { student: [5, 3, 5, 4], teacher: [5, 2, 3, 3] } }, eps: 1e-3, seed: 1 },
  // gkd's encoder has a ReLU, so the same kink caveat as fitnet: a 1e-3 step and seed 1.
  { title: 'gkd 6-d embedding, 4-d code τ 2 (encoder MLP)', c: { term: 'gkd', shapes: { student: [5, 6], teacher: [5, 4] } }, eps: 1e-3, seed: 1 },
  // At τ 8 the codes' softmax is nearly flat and float32 differences at 1e-3 are noise: a 1e-2 step.
  { title: 'gkd 3-d embedding, 9-d code τ 8', c: { term: 'gkd', shapes: { student: [5, 3], teacher: [5, 9] }, options: { tau: 8 } }, eps: 1e-2, seed: 2 },
  { title: 'ifm 6-d vs 9-d embeddings, diagonal excluded', c: { term: 'ifm', shapes: { student: [5, 6], teacher: [5, 9] } }, scale: 100 },
  { title: 'ifm diagonal included (pkth parity)', c: { term: 'ifm', shapes: { student: [5, 6], teacher: [5, 9] }, options: { exclude_diagonal: 0 } }, scale: 100 },
  { title: 'ifm 3×16×16 vs 4×16×16 pooled to 4×4', c: { term: 'ifm', shapes: { student: [5, 3, 16, 16], teacher: [5, 4, 16, 16] } }, scale: 100 },
  { title: 'ifm 3×7×7 vs 4×7×7 pooled to 2×2 (overlapping windows)', c: { term: 'ifm', shapes: { student: [5, 3, 7, 7], teacher: [5, 4, 7, 7] } }, scale: 100 },
  { title: 'kdavg τ 4 (mean of three teacher heads)', c: { term: 'kdavg', shapes: { student: [5, 7], teacher: [5, 7], head1: [5, 7], head2: [5, 7] } } },
];

for (const { title, c, scale, eps, seed } of cases) {
  test(`gradient of ${title} matches central differences`, async () => {
    const tc: TermCase = { ...c, term: termByName(c.term) };
    const r = await gradcheck(termCheckCase(tc, LABELS, scale ?? 1, { directions: 4, ...(eps ? { eps } : {}), ...(seed ? { seed } : {}) }), rt);
    if (process.env.TERMS_VERBOSE) console.error(title, r.worst.toFixed(3));
    assert.ok(r.worst <= 1, `${title}: worst ratio ${r.worst}\n${r.details.join('\n')}`);
  });
}

test('every term of the registry (src/compiler/terms/) has a finite-difference case here', () => {
  const checked = new Set(cases.map(({ c }) => c.term));
  const missing = [...TERMS.keys()].filter((t) => !checked.has(t));
  assert.deepEqual(missing, [], `terms without a gradient check: ${missing.join(', ')}`);
});
