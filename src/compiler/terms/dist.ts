// DIST (arXiv 2205.10536, hunto/DIST_KD `dist_kd.py`): Pearson relations of the tempered probabilities,
//   p = softmax(z/τ);  pearson(a, b) = Σ(a − ā)(b − b̄) / (‖a − ā‖·‖b − b̄‖ + 1e-8)
//   inter = 1 − mean_n pearson(p_s[n,:], p_t[n,:])   (each sample's class ranking)
//   intra = 1 − mean_c pearson(p_s[:,c], p_t[:,c])   (each class's ranking over the batch)
//   L = τ²·(β·inter + γ·intra).
// Defaults are the paper's CIFAR-100 recipe (β = γ = 2, τ = 4, CE weight 1); the code's class defaults are β = γ = τ = 1.
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { checkLogits } from './_common.js';
import type { LossTermDef } from './types.js';

// 1 − mean over rows of the Pearson correlation of a's and b's rows (DIST's inter_class_relation).
export function pearsonGap(b: Builder, a: Value, c: Value): Value {
  const da = b.sub(a, b.reduceMean(a, [1], true));
  const dc = b.sub(c, b.reduceMean(c, [1], true));
  const norm = (d: Value) => b.op.ReduceL2!([d, b.constant([1], 'int64')], { keepdims: 0 });
  const r = b.div(b.reduceSum(b.mul(da, dc), [1], false), b.add(b.mul(norm(da), norm(dc)), 1e-8));
  return b.sub(1, b.reduceMean(r, [0], false));
}

// Matches the teacher's relations rather than its probabilities, so a much stronger teacher stays learnable.
export const term: LossTermDef = {
  name: 'dist',
  describe: 'DIST: τ²·(β·inter-class + γ·intra-class Pearson distance) of the tempered probabilities',
  paper: 'arXiv 2205.10536',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: { beta: 2, gamma: 2, tau: 4 },
  label: (o) => `β ${o.beta} γ ${o.gamma} τ ${o.tau}`,
  check: (shapes) => checkLogits('dist', shapes, 'student', 'teacher'),
  build: ({ b, taps, options }) => {
    const tau = options.tau ?? 4;
    const ps = b.op.Softmax!([b.div(taps.student!, tau)], { axis: 1 });
    const pt = b.op.Softmax!([b.div(taps.teacher!, tau)], { axis: 1 });
    const inter = pearsonGap(b, ps, pt);
    const intra = pearsonGap(b, b.transpose(ps, [1, 0]), b.transpose(pt, [1, 0]));
    return b.mul(b.add(b.mul(inter, options.beta ?? 2), b.mul(intra, options.gamma ?? 2)), tau * tau);
  },
};
