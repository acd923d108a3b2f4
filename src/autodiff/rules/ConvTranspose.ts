import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
import { padSpatial, patchesCNL, type Window } from './_conv-util.js';

// ConvTranspose is the adjoint of Conv: dx = Conv(dy, W) with the same strides/pads/dilations/group;
// dW[ci, co, k] = sum over n and input positions of x[n, ci] * dy-tap k — the patches of dy (padded like a Conv) times x.
export const rule: GradRuleDef = {
  ops: ['ConvTranspose'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, w] = [node.input(0), node.input(1)];
    const kernel = node.attrInts('kernel_shape', w.shape.slice(2));
    const r = kernel.length;
    const strides = node.attrInts('strides', Array(r).fill(1));
    const dilations = node.attrInts('dilations', Array(r).fill(1));
    const pads = node.attrInts('pads', Array(2 * r).fill(0));
    const group = node.attrInt('group', 1);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = b.op.Conv!([dy, w], { strides, pads, dilations, group, kernel_shape: kernel });
    if (needs[1]) {
      if (group !== 1) throw new Error(`${node.label}: weight gradient of grouped ConvTranspose is not supported yet`);
      const [n, ci] = x.shape as [number, number];
      const win: Window = { kernel, strides, dilations, pads, out: x.shape.slice(2) };
      const dyt = b.transpose(padSpatial(b, dy, pads), [1, 0, ...kernel.map((_, i) => i + 2)]);
      const patches = patchesCNL(b, dyt, win); // [Co*K, N*L] where L = input positions
      const l = win.out.reduce((p, d) => p * d, 1);
      const xt = b.reshape(b.transpose(x, [1, 0, ...kernel.map((_, i) => i + 2)]), [ci, n * l]);
      grads[1] = b.reshape(b.op.Gemm!([xt, patches], { transB: 1 }), w.shape);
    }
    if (needs[2])
      grads[2] = b.reduceSum(
        b.reduceSum(
          dy,
          kernel.map((_, i) => i + 2),
          false,
        ),
        [0],
        false,
      );
    return grads;
  },
};
