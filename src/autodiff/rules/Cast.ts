import { ONNX_CODE } from '../../ir/dtype.js';
import type { GradRuleDef } from '../types.js';

// d cast(x) = cast(dy) back to x's float type (no gradient into integer inputs).
export const rule: GradRuleDef = {
  ops: ['Cast'],
  grad: ({ b, node, gradOut: [dy] }) => {
    const x = node.input(0);
    if (!dy || !['float32', 'float64', 'float16'].includes(x.dtype)) return [undefined];
    return [b.op.Cast!([dy], { to: ONNX_CODE[x.dtype] })];
  },
};
