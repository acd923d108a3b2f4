import { spatialAttrs } from '../../ir/shapes/conv.js';
import type { Builder } from '../../ir/builder.js';
import type { Node, Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
import { kernelOffsets, padSpatial, patchesCNL, windowTap, type Window } from './_conv-util.js';

function windowOf(node: Node, x: Value, w: Value, y: Value): Window {
  const a = spatialAttrs(node, x.shape, node.attrInts('kernel_shape', w.shape.slice(2)));
  return { kernel: a.kernel, strides: a.strides, dilations: a.dilations, pads: a.pads, out: y.shape.slice(2) };
}

// dx = ConvTranspose(dy, W) with output_padding = (H + pb + pe - ((k-1)d + 1)) mod s, which lands exactly on x's size.
function inputGrad(b: Builder, node: Node, dy: Value, x: Value, w: Value, win: Window, group: number): Value {
  const r = win.kernel.length;
  const outPad = win.kernel.map((k, i) => (x.shape[2 + i]! + win.pads[i]! + win.pads[i + r]! - ((k - 1) * win.dilations[i]! + 1)) % win.strides[i]!);
  return b.op.ConvTranspose!([dy, w], {
    strides: win.strides, pads: win.pads, dilations: win.dilations, group, kernel_shape: win.kernel,
    ...(outPad.some((p) => p > 0) ? { output_padding: outPad } : {}),
  });
}

// dW for groups = 1: explicit patches [Ci*K, N*L] and one Gemm with dy as [Co, N*L] (4.5x faster than a dilated Conv).
function weightGradDense(b: Builder, dy: Value, x: Value, wShape: number[], win: Window): Value {
  const [n, co] = dy.shape as [number, number];
  const l = win.out.reduce((p, d) => p * d, 1);
  const xt = b.transpose(padSpatial(b, x, win.pads), [1, 0, ...win.kernel.map((_, i) => i + 2)]);
  const patches = patchesCNL(b, xt, win);
  const dyt = b.reshape(b.transpose(dy, [1, 0, ...win.kernel.map((_, i) => i + 2)]), [co, n * l]);
  return b.reshape(b.op.Gemm!([dyt, patches], { transB: 1 }), wShape);
}

// dW for depthwise convs: per tap, sum over N and positions of dy * tap (spatial first, then batch, for precision).
function weightGradDepthwise(b: Builder, dy: Value, x: Value, w: Value, win: Window): Value {
  const xp = padSpatial(b, x, win.pads);
  const [n, c] = dy.shape as [number, number];
  const l = win.out.reduce((p, d) => p * d, 1);
  const taps = kernelOffsets(win.kernel).map((o) => b.reshape(windowTap(b, xp, win, o), [n, c, 1, l]));
  const stacked = taps.length === 1 ? taps[0]! : b.op.Concat!(taps, { axis: 2 });
  const prod = b.mul(stacked, b.reshape(dy, [n, c, 1, l]));
  return b.reshape(b.reduceSum(b.reduceSum(prod, [3], false), [0], false), w.shape);
}

// dW for other grouped convs: the dense form per group, concatenated over output channels.
function weightGradGrouped(b: Builder, dy: Value, x: Value, w: Value, win: Window, group: number): Value {
  const ci = x.shape[1]! / group;
  const co = dy.shape[1]! / group;
  const xs = b.node('Split', [x, b.constant(Array(group).fill(ci), 'int64')], { axis: 1 }, { outputs: group });
  const dys = b.node('Split', [dy, b.constant(Array(group).fill(co), 'int64')], { axis: 1 }, { outputs: group });
  const wShape = [co, ...w.shape.slice(1)];
  const parts = xs.map((xg, i) => weightGradDense(b, dys[i]!, xg, wShape, win));
  return b.op.Concat!(parts, { axis: 0 });
}

// Conv: input, weight and bias gradients, each only where needed.
export const rule: GradRuleDef = {
  ops: ['Conv'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const [x, w] = [node.input(0), node.input(1)];
    const win = windowOf(node, x, w, node.outputs[0]!);
    const group = node.attrInt('group', 1);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = inputGrad(b, node, dy, x, w, win, group);
    if (needs[1]) {
      const depthwise = group > 1 && group === x.shape[1] && w.shape[1] === 1 && dy.shape[1] === group;
      grads[1] = group === 1 ? weightGradDense(b, dy, x, w.shape, win)
        : depthwise ? weightGradDepthwise(b, dy, x, w, win) : weightGradGrouped(b, dy, x, w, win, group);
    }
    if (needs[2]) {
      const spatial = win.kernel.map((_, i) => i + 2);
      grads[2] = b.reduceSum(b.reduceSum(dy, spatial, false), [0], false);
    }
    return grads;
  },
};
