import { unbroadcast } from '../broadcast.js';
import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
// y = clip(x, lo, hi): dx = dy strictly inside (lo, hi), 0 outside (PyTorch's hardtanh_backward convention);
// the bounds, when given as tensors (opset 11+), get dlo = sum(dy where x < lo), dhi = sum(dy where x > hi).
export const rule: GradRuleDef = {
  ops: ['Clip'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy) return [];
    const x = node.input(0);
    const lo: Value | number | undefined = node.inputs[1] ?? (node.hasAttr('min') ? node.attrFloat('min') : undefined);
    const hi: Value | number | undefined = node.inputs[2] ?? (node.hasAttr('max') ? node.attrFloat('max') : undefined);
    const zero = b.constant(0, dy.dtype);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) {
      // x == lo or x == hi also gets 0: inside means lo < x < hi.
      const atLo = lo !== undefined ? b.op.LessOrEqual!([x, lo]) : undefined;
      const atHi = hi !== undefined ? b.op.GreaterOrEqual!([x, hi]) : undefined;
      const out = atLo && atHi ? b.op.Or!([atLo, atHi]) : (atLo ?? atHi);
      grads[0] = out ? b.op.Where!([out, zero, dy]) : dy;
    }
    if (needs[1] && node.inputs[1])
      grads[1] = unbroadcast(b, b.op.Where!([b.op.Less!([x, node.inputs[1]]), dy, zero]), node.inputs[1].shape);
    if (needs[2] && node.inputs[2])
      grads[2] = unbroadcast(b, b.op.Where!([b.op.Greater!([x, node.inputs[2]]), dy, zero]), node.inputs[2].shape);
    return grads;
  },
};
