// Mean squared error (methods.md §1.4 primitive 3): L = (1/|x|) Σ (s − t)², as torch.nn.MSELoss() (mean over all elements).
import { checkSameShape, meanAll } from './_common.js';
import type { LossTermDef } from './types.js';

// Plain regression of one tapped value onto another of the same shape.
export const term: LossTermDef = {
  name: 'mse',
  describe: 'mean squared error over all elements (shapes must match)',
  slots: [
    { name: 'student', tap: 'logits' },
    { name: 'teacher', tap: 'logits', target: true },
  ],
  defaults: {},
  check: (shapes) => checkSameShape('mse', shapes, 'student', 'teacher'),
  build: ({ b, taps }) => {
    const d = b.sub(taps.student!, taps.teacher!);
    return meanAll(b, b.mul(d, d));
  },
};
