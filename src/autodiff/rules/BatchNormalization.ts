import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';

// Inference-form BatchNorm (running statistics are constants): y = scale * (x - mean) * invstd + bias, invstd = 1/sqrt(var + eps):
//   dx = dy * scale * invstd,  dscale = sum(dy * (x - mean) * invstd),  dbias = sum(dy)  (sums over N and spatial axes).
export const rule: GradRuleDef = {
  ops: ['BatchNormalization'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    if (node.attrInt('training_mode', 0) === 1)
      throw new Error(`${node.label}: training-mode BatchNormalization must be compiled through the trainer`);
    const [x, scale, , mean, vr] = [0, 1, 2, 3, 4].map((i) => node.input(i));
    const bshape = x!.shape.map((d, i) => (i === 1 ? d : 1));
    const c = [scale!.shape[0]!];
    const invstd = b.reshape(b.op.Reciprocal!([b.op.Sqrt!([b.add(vr!, node.attrFloat('epsilon', 1e-5))])]), bshape);
    const axes = x!.shape.map((_, i) => i).filter((i) => i !== 1);
    const sumNHW = (v: Value) =>
      b.reshape(
        b.reduceSum(
          b.reduceSum(
            v,
            axes.filter((a) => a > 1),
            true,
          ),
          [0],
          true,
        ),
        c,
      );
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = b.mul(dy, b.mul(b.reshape(scale!, bshape), invstd));
    if (needs[1]) grads[1] = sumNHW(b.mul(dy, b.mul(b.sub(x!, b.reshape(mean!, bshape)), invstd)));
    if (needs[2]) grads[2] = sumNHW(dy);
    return grads;
  },
};
