import { peerTerms } from './dml.js';
import { ceTerms, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// KD with peer-to-peer mutual learning and an online teacher (Niyaz & Bathula, arXiv 2110.11023; methods.md §3):
// teacher L_T = CE; student k: CE + w_kd·τ²·KL(σ_τ(sg z_T) ‖ σ_τ(z_k)) + w_ml·(1/(K−1))·Σ_l KL(σ_1(sg z_l) ‖ σ_1(z_k)),
// τ 4, w_kd = w_ml = 1, all networks stepped on the same batch. The teacher-from-students term (w_T←S) is off by
// default; `--terms kl.teacher=<w>` turns it on.
export const method: MethodDef = {
  name: 'kdml',
  describe:
    'one teacher trained online with K ≥ 2 students: each student learns from labels, the teacher (KD, τ 4) and its peers (KL, τ 1)',
  paper: 'arXiv 2110.11023',
  teacher: 'trainable',
  minStudents: 2,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'kdml');
    return [
      { term: 'ce', name: 'ce.teacher', taps: { logits: `${t}.logits` }, weight: 1 },
      ...ctx.students.map((s) => ({
        term: 'kl',
        name: `kl.teacher<-${s}`,
        taps: { student: `${t}.logits`, peer: `${s}.logits` },
        options: { tau: 1 },
        weight: 0,
      })),
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => ({
        term: 'kd',
        name: termName('kd', s, ctx),
        taps: { student: `${s}.logits`, teacher: `${t}.logits` },
        options: { tau: ctx.tau ?? 4 },
        weight: 1,
      })),
      ...peerTerms(ctx, 1),
    ];
  },
};
