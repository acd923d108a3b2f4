// FitNets hints (arXiv 1412.6550), as RepDistiller's HintLoss on ConvReg:  L = mse(ConvReg(f_s), f_t)  (β outside).
// ConvReg: Conv 3×3 stride 2 pad 1 if H_s = 2H_t; ConvTranspose 4×4 stride 2 pad 1 if 2H_s = H_t; otherwise
// Conv with kernel (1+H_s−H_t)×(1+W_s−W_t); then BatchNorm(C_t) and ReLU. Weights and biases start as PyTorch's
// default nn.Conv2d / nn.ConvTranspose2d init, U(±1/√fan_in); BN γ 1, β 0, running mean 0 / var 1.
import type { Value } from '../../ir/graph.js';
import { filledTensor, uniformTensor } from '../../ir/init.js';
import { UserError } from '../../util/errors.js';
import { checkBatchAndRank, formatShape, meanAll, slotShape } from './_common.js';
import type { LossTermDef, ModuleBuilder } from './types.js';
import type { Builder } from '../../ir/builder.js';

// The regressor's layer as RepDistiller chooses it from the two shapes.
export interface ConvRegPlan {
  op: 'Conv' | 'ConvTranspose';
  // ONNX weight dims: Conv [C_t, C_s, kh, kw], ConvTranspose [C_s, C_t, 4, 4].
  weight: number[];
  attrs: { kernel_shape: number[]; strides: number[]; pads: number[] };
  // PyTorch's fan_in for the default init bound (ConvTranspose2d counts weight.size(1) = C_t).
  fanIn: number;
}

// Pick the ConvReg layer and check its output matches the teacher map, or throw a UserError naming the slots.
export function convRegPlan(shapes: Record<string, number[]>): ConvRegPlan {
  checkBatchAndRank('fitnet', shapes, 'student', 'teacher', 4);
  const s = slotShape('fitnet', shapes, 'student');
  const t = slotShape('fitnet', shapes, 'teacher');
  const [cs, hs, ws, ct, ht, wt] = [s[1]!, s[2]!, s[3]!, t[1]!, t[2]!, t[3]!];
  let plan: ConvRegPlan;
  let out: number[];
  if (hs === 2 * ht) {
    plan = {
      op: 'Conv',
      weight: [ct, cs, 3, 3],
      attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      fanIn: cs * 9,
    };
    out = [Math.floor((hs - 1) / 2) + 1, Math.floor((ws - 1) / 2) + 1];
  } else if (2 * hs === ht) {
    plan = {
      op: 'ConvTranspose',
      weight: [cs, ct, 4, 4],
      attrs: { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] },
      fanIn: ct * 16,
    };
    out = [2 * hs, 2 * ws];
  } else if (hs >= ht && ws >= wt) {
    const k = [1 + hs - ht, 1 + ws - wt];
    plan = {
      op: 'Conv',
      weight: [ct, cs, k[0]!, k[1]!],
      attrs: { kernel_shape: k, strides: [1, 1], pads: [0, 0, 0, 0] },
      fanIn: cs * k[0]! * k[1]!,
    };
    out = [ht, wt];
  } else {
    throw new UserError(
      `fitnet: slot 'student' ${formatShape(s)} is smaller than slot 'teacher' ${formatShape(t)} and not half its size; ConvReg cannot map it`,
    );
  }
  if (out[0] !== ht || out[1] !== wt) {
    throw new UserError(
      `fitnet: ConvReg maps slot 'student' ${formatShape(s)} to ${formatShape([s[0]!, ct, ...out])}, not to slot 'teacher' ${formatShape(t)}`,
    );
  }
  return plan;
}

// ConvReg(f_s): the regressor layer, BatchNorm (training mode once the compiler lowers it) and ReLU.
export function convReg(b: Builder, module: ModuleBuilder, f: Value, plan: ConvRegPlan, channels: number): Value {
  const bound = 1 / Math.sqrt(plan.fanIn);
  const w = module.param('conv.weight', uniformTensor(module.rng, plan.weight, bound));
  const bias = module.param('conv.bias', uniformTensor(module.rng, [channels], bound));
  const y = b.op[plan.op]!([f, w, bias], plan.attrs);
  const gamma = module.param('bn.weight', filledTensor([channels], 1));
  const beta = module.param('bn.bias', filledTensor([channels], 0));
  const mean = module.buffer('bn.running_mean', filledTensor([channels], 0));
  const vr = module.buffer('bn.running_var', filledTensor([channels], 1));
  // ONNX momentum 0.9 is PyTorch's momentum 0.1 (running = 0.9·running + 0.1·batch).
  return b.op.Relu!([b.op.BatchNormalization!([y, gamma, beta, mean, vr], { epsilon: 1e-5, momentum: 0.9 })]);
}

// Hint learning: a trained regressor maps the student's middle features onto the teacher's.
export const term: LossTermDef = {
  name: 'fitnet',
  describe: 'FitNets hint: mse(ConvReg(student), teacher) with a trained regressor',
  paper: 'arXiv 1412.6550',
  slots: [
    { name: 'student', tap: 'f2' },
    { name: 'teacher', tap: 'f2', target: true },
  ],
  defaults: {},
  check: (shapes) => void convRegPlan(shapes),
  build: ({ b, taps, module }) => {
    const t = taps.teacher!;
    const plan = convRegPlan({ student: taps.student!.shape, teacher: t.shape });
    const d = b.sub(convReg(b, module, taps.student!, plan, t.shape[1]!), t);
    return meanAll(b, b.mul(d, d));
  },
};
