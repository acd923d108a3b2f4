import type { RunTerm } from './types.js';
import { ceTerms } from './_terms.js';
import type { MethodContext, MethodDef } from './types.js';

// Each student k learns from every other student l: (1/(K−1))·KL(σ_1(sg z_l) ‖ σ_1(z_k)), all stepped on one batch.
export function peerTerms(ctx: MethodContext, weight: number, tau = 1): RunTerm[] {
  const k = ctx.students.length;
  return ctx.students.flatMap((s) =>
    ctx.students
      .filter((p) => p !== s)
      .map((p) => ({
        term: 'kl',
        name: `kl.${s}<-${p}`,
        taps: { student: `${s}.logits`, peer: `${p}.logits` },
        options: { tau },
        weight: weight / (k - 1),
      })),
  );
}

// Deep Mutual Learning (arXiv 1706.00384): K ≥ 2 peers from scratch, CE + mean KL towards the other peers at τ 1.
export const method: MethodDef = {
  name: 'dml',
  describe: 'deep mutual learning: K ≥ 2 students teach each other (CE + KL to each peer at τ 1), no teacher',
  paper: 'arXiv 1706.00384',
  teacher: 'none',
  minStudents: 2,
  terms: (ctx) => [...ceTerms(ctx, 1), ...peerTerms(ctx, 1)],
};
