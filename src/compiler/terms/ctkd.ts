// Curriculum temperature KD (CTKD, arXiv 2211.16231, zhengli97/CTKD, global temperature): the KD temperature is a
// trained scalar g of the step, read through a gradient-reversal layer so it ascends the loss the student descends:
//   τ = t_start + t_range·sigmoid(GRL_λ(g)),  g starts at 1   (models/temp_global.py Global_T; train_student.py)
//   L = τ²·KL(σ_τ(sg z_t) ‖ σ_τ(z_s)), batchmean              (distiller_zoo/KD.py DistillKL with a tensor T)
//   GRL_λ: identity forward, gradient × (−λ) backward; built as sg(g) − λ·(g − sg(g)), exactly g in the forward pass.
//   λ(e) = (1 − cos(π·min(e, loops)/loops))/2 at epoch e counted from 1: the reference CosineDecay(0, −1, loops)
//   gives the GRL factor −λ; 0 → 1 over the first `loops` epochs (easy to hard), then 1.
// λ is the step input `in_<term>.lambda` fed each epoch, so the curriculum never recompiles. g is trained with the
// student's optimizer, learning rate and weight decay, as the reference puts it in the student's SGD.
// Defaults t_start 1, t_range 20, loops 10 (run_cifar_distill.sh); standardize 1 z-scores both logits first.
import { Tensor } from '../../ir/tensor.js';
import { checkLogits, lsLabel, maybeStandardize, softKL } from './_common.js';
import type { LossTermDef } from './types.js';

// KD with a temperature the student's adversary learns, on an easy-to-hard schedule.
export const term: LossTermDef = {
  name: 'ctkd',
  describe:
    'curriculum temperature KD: τ²·KL at a learned τ = 1 + 20·sigmoid(g), g trained through gradient reversal λ 0→1',
  paper: 'arXiv 2211.16231',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: { t_start: 1, t_range: 20, loops: 10, standardize: 0 },
  label: (o) => `τ ${o.t_start}+${o.t_range}·σ(g), λ over ${o.loops} epochs${lsLabel(o)}`,
  check: (shapes) => checkLogits('ctkd', shapes, 'student', 'teacher'),
  inputs: {
    lambda: (epoch, o) => {
      const loops = o.loops ?? 10;
      return (1 - Math.cos((Math.PI * Math.min(epoch + 1, loops)) / loops)) / 2;
    },
  },
  build: ({ b, taps, options, module, stop, input }) => {
    const g = module.param('temperature', Tensor.float32([], [1]));
    const held = stop(g);
    const reversed = b.sub(held, b.mul(input('lambda'), b.sub(g, held)));
    const tau = b.add(b.mul(b.op.Sigmoid!([reversed]), options.t_range ?? 20), options.t_start ?? 1);
    return softKL(b, maybeStandardize(b, taps.student!, options), maybeStandardize(b, taps.teacher!, options), tau);
  },
};
