import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { UserError } from '../../util/errors.js';
import { slotShape } from './_common.js';
import type { LossTermDef } from './types.js';

// Mean cross-entropy with label smoothing eps, as torch.nn.CrossEntropyLoss(label_smoothing=eps):
// CE = -(1/N) sum_n sum_c t_nc log softmax(z)_nc,  t = (1-eps)*onehot + eps/C.
export function crossEntropy(b: Builder, logits: Value, onehot: Value, smoothing = 0): Value {
  const [n, c] = logits.shape as [number, number];
  const logp = b.op.LogSoftmax!([logits], { axis: 1 });
  const target = smoothing > 0 ? b.add(b.mul(onehot, 1 - smoothing), smoothing / c) : onehot;
  return b.mul(b.reduceSum(b.mul(target, logp), [0, 1], false), -1 / n);
}

// The hard-label term every recipe starts from.
export const term: LossTermDef = {
  name: 'ce',
  describe: 'cross-entropy with the labels (optional label smoothing)',
  slots: [{ name: 'logits', tap: 'logits' }],
  needsLabels: true,
  defaults: { smoothing: 0 },
  label: (o) => (o.smoothing ? `smoothing ${o.smoothing}` : ''),
  check: (shapes) => {
    const s = slotShape('ce', shapes, 'logits');
    if (s.length !== 2 || s[1]! < 2)
      throw new UserError(`ce: slot 'logits' [${s.join(',')}] must be logits [N, classes] with at least 2 classes`);
  },
  build: ({ b, labels, taps, options }) => crossEntropy(b, taps.logits!, labels, options.smoothing ?? 0),
};
