import { ONNX_CODE } from '../../ir/dtype.js';
import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
// y = x^p:  dx = dy * p * x^(p-1);  dp = dy * y * log(x), taken as 0 where x <= 0 (PyTorch masks x == 0 the same way).
// An integer exponent (allowed by ONNX) is cast to x's type first; it never gets a gradient.
export const rule: GradRuleDef = {
  ops: ['Pow'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const x = node.input(0);
    const p0 = node.input(1);
    const p = p0.dtype === x.dtype ? p0 : b.op.Cast!([p0], { to: ONNX_CODE[x.dtype] });
    const y = node.outputs[0]!;
    const pc = p.constant?.toNumbers();
    let dx;
    if (needs[0]) {
      // Constant scalar exponents get the cheap forms: p = 1 -> dy, p = 2 -> 2 x dy, else p * x^(p-1) as one Pow.
      if (pc && pc.length === 1 && pc[0] === 1) dx = dy;
      else if (pc && pc.length === 1 && pc[0] === 2) dx = b.mul(dy, b.mul(x, 2));
      else dx = b.mul(dy, b.mul(p, b.op.Pow!([x, b.sub(p, 1)])));
      dx = unbroadcast(b, dx, x.shape);
    }
    let dp;
    if (needs[1] && p0 === p) {
      const pos = b.op.Greater!([x, 0]);
      // log(1) = 0 where x <= 0, so no separate mask is needed.
      const safeLog = b.op.Log!([b.op.Where!([pos, x, b.constant(1, x.dtype)])]);
      dp = unbroadcast(b, b.mul(b.mul(dy, y), safeLog), p.shape);
    }
    return [dx, dp];
  },
};
