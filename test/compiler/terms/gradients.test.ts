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
// Logits 20 at each label and 0 elsewhere, plus a small ramp so the soft targets differ across classes.
const confident = (labels: number[], k: number) =>
  labels.flatMap((y) => Array.from({ length: k }, (_, c) => (c === y ? 20 : 0.3 * c)));
// fitnet ends in BatchNorm -> ReLU: a pre-activation within the step of 0 is a kink that central differences straddle
// (seen with the default seed: slope jumps of 2·t/numel). A 1e-3 step with seed 1 has none; the same gradients are also
// checked against PyTorch in values.test.ts, where no finite step is involved.
const cases: {
  title: string;
  c: Omit<TermCase, 'term'> & { term: string };
  scale?: number;
  eps?: number;
  seed?: number;
}[] = [
  { title: 'ce, N=5 C=7', c: { term: 'ce', shapes: { logits: [5, 7] } } },
  { title: 'ce label smoothing 0.1', c: { term: 'ce', shapes: { logits: [5, 7] }, options: { smoothing: 0.1 } } },
  { title: 'kd τ 4, N=5 C=7', c: { term: 'kd', shapes: { student: [5, 7], teacher: [5, 7] } } },
  { title: 'kd τ 1.5', c: { term: 'kd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 1.5 } } },
  { title: 'kl τ 1', c: { term: 'kl', shapes: { student: [5, 7], peer: [5, 7] } } },
  { title: 'mse on 5×3×4×4', c: { term: 'mse', shapes: { student: [5, 3, 4, 4], teacher: [5, 3, 4, 4] } } },
  { title: 'dkd α 1 β 8 τ 4', c: { term: 'dkd', shapes: { student: [5, 7], teacher: [5, 7] } } },
  {
    title: 'at 3×5×5 vs 4×5×5',
    c: { term: 'at', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] } },
    scale: 100,
  },
  {
    title: 'at student 8×8 pooled to teacher 4×4',
    c: { term: 'at', shapes: { student: [5, 3, 8, 8], teacher: [5, 4, 4, 4] } },
    scale: 100,
  },
  {
    title: 'at teacher 8×8 pooled to student 4×4',
    c: { term: 'at', shapes: { student: [5, 3, 4, 4], teacher: [5, 4, 8, 8] } },
    scale: 100,
  },
  {
    title: 'at p 3 (Pow)',
    c: { term: 'at', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] }, options: { p: 3 } },
    scale: 100,
  },
  {
    title: 'sp 3×5×5 vs 4×5×5',
    c: { term: 'sp', shapes: { student: [5, 3, 5, 5], teacher: [5, 4, 5, 5] } },
    scale: 100,
  },
  { title: 'pkt 6-d vs 9-d embeddings', c: { term: 'pkt', shapes: { student: [5, 6], teacher: [5, 9] } }, scale: 100 },
  {
    title: 'fitnet Conv 3×3 stride 2 (6×6 -> 3×3)',
    c: { term: 'fitnet', shapes: { student: [5, 3, 6, 6], teacher: [5, 2, 3, 3] } },
    eps: 1e-3,
    seed: 1,
  },
  {
    title: 'fitnet ConvTranspose 4×4 (3×3 -> 6×6)',
    c: { term: 'fitnet', shapes: { student: [5, 3, 3, 3], teacher: [5, 2, 6, 6] } },
    eps: 1e-3,
    seed: 1,
  },
  {
    title: 'fitnet Conv 3×2 (5×4 -> 3×3)',
    c: { term: 'fitnet', shapes: { student: [5, 3, 5, 4], teacher: [5, 2, 3, 3] } },
    eps: 1e-3,
    seed: 1,
  },
  // gkd's encoder has a ReLU, so the same kink caveat as fitnet: a 1e-3 step and seed 1.
  {
    title: 'gkd 6-d embedding, 4-d code τ 2 (encoder MLP)',
    c: { term: 'gkd', shapes: { student: [5, 6], teacher: [5, 4] } },
    eps: 1e-3,
    seed: 1,
  },
  // At τ 8 the codes' softmax is nearly flat and float32 differences at 1e-3 are noise: a 1e-2 step.
  {
    title: 'gkd 3-d embedding, 9-d code τ 8',
    c: { term: 'gkd', shapes: { student: [5, 3], teacher: [5, 9] }, options: { tau: 8 } },
    eps: 1e-2,
    seed: 2,
  },
  {
    title: 'ifm 6-d vs 9-d embeddings, diagonal excluded',
    c: { term: 'ifm', shapes: { student: [5, 6], teacher: [5, 9] } },
    scale: 100,
  },
  {
    title: 'ifm diagonal included (pkth parity)',
    c: { term: 'ifm', shapes: { student: [5, 6], teacher: [5, 9] }, options: { exclude_diagonal: 0 } },
    scale: 100,
  },
  {
    title: 'ifm 3×16×16 vs 4×16×16 pooled to 4×4',
    c: { term: 'ifm', shapes: { student: [5, 3, 16, 16], teacher: [5, 4, 16, 16] } },
    scale: 100,
  },
  {
    title: 'ifm 3×7×7 vs 4×7×7 pooled to 2×2 (overlapping windows)',
    c: { term: 'ifm', shapes: { student: [5, 3, 7, 7], teacher: [5, 4, 7, 7] } },
    scale: 100,
  },
  {
    title: 'kdavg τ 4 (mean of three teacher heads)',
    c: { term: 'kdavg', shapes: { student: [5, 7], teacher: [5, 7], head1: [5, 7], head2: [5, 7] } },
  },
  { title: 'ce with label smoothing 0.1', c: { term: 'ce', shapes: { logits: [5, 7] }, options: { smoothing: 0.1 } } },
  // Logit standardisation (arXiv 2403.01427) on every KL term: the z-score's mean and std are differentiated too.
  {
    title: 'kd τ 2 with logit standardisation',
    c: { term: 'kd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 2, standardize: 1 } },
  },
  {
    title: 'kl with logit standardisation',
    c: { term: 'kl', shapes: { student: [5, 7], peer: [5, 7] }, options: { standardize: 1 } },
  },
  {
    title: 'dkd τ 2 with logit standardisation',
    c: { term: 'dkd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 2, standardize: 1 } },
  },
  {
    title: 'kdavg with logit standardisation',
    c: {
      term: 'kdavg',
      shapes: { student: [5, 7], teacher: [5, 7], head1: [5, 7], head2: [5, 7] },
      options: { standardize: 1 },
    },
  },
  {
    title: 'gkd with logit standardisation',
    c: { term: 'gkd', shapes: { student: [5, 6], teacher: [5, 4] }, options: { standardize: 1 } },
    eps: 1e-3,
    seed: 1,
  },
  {
    title: 'ctkd with logit standardisation, λ −1',
    c: {
      term: 'ctkd',
      shapes: { student: [5, 7], teacher: [5, 7] },
      options: { standardize: 1, t_range: 3 },
      inputs: { lambda: -1 },
    },
    scale: 10,
  },
  // DIST's Pearson distances are small at τ 4 (flat probabilities): scaled so the gradients clear gradcheck's atol.
  { title: 'dist β 2 γ 2 τ 4', c: { term: 'dist', shapes: { student: [5, 7], teacher: [5, 7] } }, scale: 10 },
  {
    title: 'dist β 1 γ 0.5 τ 1',
    c: { term: 'dist', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 1, beta: 1, gamma: 0.5 } },
  },
  // WSLD's weight is computed from sg(z_s), so central differences (which see it move) only agree where it is flat: a
  // teacher sure of every label (CE_t ≈ 1e-8) makes the ratio ~1e7 and w = 1. The weight itself is checked against
  // PyTorch in values.test.ts.
  {
    title: 'wsld τ 4 with a confident teacher (w = 1)',
    c: { term: 'wsld', shapes: { student: [5, 7], teacher: [5, 7] }, values: { teacher: confident(LABELS, 7) } },
  },
  { title: 'nkd τ 1 γ 1.5', c: { term: 'nkd', shapes: { student: [5, 7], teacher: [5, 7] } } },
  {
    title: 'nkd τ 2 γ 1',
    c: { term: 'nkd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { tau: 2, gamma: 1 } },
  },
  // With λ = −1 the reversal layer's factor −λ is +1, so the temperature's gradient is the plain derivative that central
  // differences measure; values.test.ts checks λ 0.3 and 1 (reversed) against PyTorch's GradientReversalFunction.
  // t_range 3 keeps τ = 1 + 3·sigmoid(1) ≈ 3.2: at the default 15.6 the softmax of unit-scale logits is so flat that
  // float32 central differences are noise (the default range is checked against PyTorch in values.test.ts).
  {
    title: 'ctkd learned temperature (λ −1: unreversed), τ ≈ 3.2',
    c: { term: 'ctkd', shapes: { student: [5, 7], teacher: [5, 7] }, options: { t_range: 3 }, inputs: { lambda: -1 } },
    scale: 10,
  },
  // ReviewKD: attention fusion of three student levels (two maps and an embedding) through trained ABF modules.
  // The deepest level's BatchNorm normalises 5 values per channel (a 1×1 map): strongly curved, so a 5e-3 step.
  {
    title: 'reviewkd, student and teacher levels of equal size, mid 3',
    c: {
      term: 'reviewkd',
      shapes: { s1: [5, 3, 4, 4], s2: [5, 4, 2, 2], s3: [5, 5], t1: [5, 2, 4, 4], t2: [5, 3, 2, 2], t3: [5, 4] },
      options: { mid: 3 },
    },
    scale: 10,
    eps: 5e-3,
  },
  {
    title: "reviewkd, student levels half the teacher's size (nearest resize)",
    c: {
      term: 'reviewkd',
      shapes: { s1: [5, 3, 4, 4], s2: [5, 4, 2, 2], s3: [5, 5], t1: [5, 2, 8, 8], t2: [5, 3, 4, 4], t3: [5, 4] },
      options: { mid: 2 },
    },
    scale: 10,
  },
  // CRD with its normalisers Z already set (unset, Z is taken from this step's scores as a constant, which central
  // differences would see move); memory banks at their initial values, fixed sample and contrast indices.
  {
    title: 'crd, 12-sample memory, K 6, feat 5',
    c: {
      term: 'crd',
      shapes: { student: [5, 6], teacher: [5, 7] },
      options: { feat_dim: 5, nce_k: 6, n_data: 12 },
      buffers: { z_v1: [0.9], z_v2: [1.3] },
      batch: {
        index: [3, 7, 0, 11, 5],
        contrast: [
          3, 1, 2, 4, 6, 8, 9, 7, 0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 11, 11, 10, 9, 8, 7, 6, 5, 5, 1, 1, 2, 2, 3, 3,
        ],
      },
    },
  },
];

test('every loss term has a finite-difference case', () => {
  const covered = new Set(cases.map((x) => x.c.term));
  for (const name of TERMS.keys()) assert.ok(covered.has(name), `term '${name}' has no gradient check in this file`);
  for (const [name, def] of TERMS) {
    if ('standardize' in def.defaults)
      assert.ok(
        cases.some((x) => x.c.term === name && x.c.options?.standardize),
        `term '${name}' has no logit-standardisation gradient check`,
      );
  }
});

for (const { title, c, scale, eps, seed } of cases) {
  test(`gradient of ${title} matches central differences`, async () => {
    const tc: TermCase = { ...c, term: termByName(c.term) };
    const r = await gradcheck(
      termCheckCase(tc, LABELS, scale ?? 1, { directions: 4, ...(eps ? { eps } : {}), ...(seed ? { seed } : {}) }),
      rt,
    );
    if (process.env.TERMS_VERBOSE) console.error(title, r.worst.toFixed(3));
    if (process.env.TERMS_DETAILS) console.error(r.details.join('\n'));
    assert.ok(r.worst <= 1, `${title}: worst ratio ${r.worst}\n${r.details.join('\n')}`);
  });
}

test('every term of the registry (src/compiler/terms/) has a finite-difference case here', () => {
  const checked = new Set(cases.map(({ c }) => c.term));
  const missing = [...TERMS.keys()].filter((t) => !checked.has(t));
  assert.deepEqual(missing, [], `terms without a gradient check: ${missing.join(', ')}`);
});
