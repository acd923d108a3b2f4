// Attention transfer (arXiv 1612.03928), as RepDistiller's Attention.at_loss:
//   A(f) = F.normalize(mean_c(f^p).view(N, −1))  (p = 2),   L = mean over N·H·W of (A(f_s) − A(f_t))²,
// after average-pooling the larger map down to the smaller one (F.adaptive_avg_pool2d; integer ratios only here).
// RepDistiller pools to (t_H, t_H); we pool to (t_H, t_W), the same for the square maps it is used with [ours].
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { UserError } from '../../util/errors.js';
import { checkBatchAndRank, flatten2, formatShape, meanAll, normalizeRows, slotShape } from './_common.js';
import type { LossTermDef } from './types.js';

// Which side is pooled and by what kernel (= stride), or a UserError naming the slots when sizes do not divide.
export function atPooling(shapes: Record<string, number[]>): {
  side: 'student' | 'teacher' | undefined;
  kernel: number[];
} {
  checkBatchAndRank('at', shapes, 'student', 'teacher', 4);
  const s = slotShape('at', shapes, 'student');
  const t = slotShape('at', shapes, 'teacher');
  const [hs, ws, ht, wt] = [s[2]!, s[3]!, t[2]!, t[3]!];
  if (hs === ht && ws === wt) return { side: undefined, kernel: [1, 1] };
  const [big, small, side] =
    hs >= ht ? [[hs, ws], [ht, wt], 'student' as const] : [[ht, wt], [hs, ws], 'teacher' as const];
  const kernel = [big[0]! / small[0]!, big[1]! / small[1]!];
  if (!kernel.every((k) => Number.isInteger(k) && k >= 1)) {
    throw new UserError(
      `at: slots 'student' ${formatShape(s)} and 'teacher' ${formatShape(t)} need spatial sizes that divide each other (the larger map is average-pooled to the smaller)`,
    );
  }
  return { side, kernel };
}

// The normalised spatial attention map of one feature map: [N, H·W].
export function attentionMap(b: Builder, f: Value, p: number): Value {
  const fp = p === 2 ? b.mul(f, f) : b.op.Pow!([f, p]);
  return normalizeRows(b, flatten2(b, b.reduceMean(fp, [1], false)));
}

// Where a network looks, channel-averaged, so student and teacher widths may differ.
export const term: LossTermDef = {
  name: 'at',
  describe: 'attention transfer: mean (A_s − A_t)², A = normalised channel mean of f^p',
  paper: 'arXiv 1612.03928',
  slots: [
    { name: 'student', tap: 'f1' },
    { name: 'teacher', tap: 'f1', target: true },
  ],
  defaults: { p: 2 },
  label: (o) => (o.p === 2 ? '' : `p ${o.p}`),
  check: (shapes) => void atPooling(shapes),
  build: ({ b, taps, options }) => {
    const { side, kernel } = atPooling({ student: taps.student!.shape, teacher: taps.teacher!.shape });
    const pool = (f: Value) => b.op.AveragePool!([f], { kernel_shape: kernel, strides: kernel });
    const s = side === 'student' ? pool(taps.student!) : taps.student!;
    const t = side === 'teacher' ? pool(taps.teacher!) : taps.teacher!;
    const p = options.p ?? 2;
    const d = b.sub(attentionMap(b, s, p), attentionMap(b, t, p));
    return meanAll(b, b.mul(d, d));
  },
};
