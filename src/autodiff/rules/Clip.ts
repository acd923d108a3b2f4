import type { Value } from '../../ir/graph.js';
import { mask, unaryRule } from '../unary.js';
// d clip(x, lo, hi) = dy strictly inside (lo, hi), 0 outside (PyTorch's hardtanh_backward convention).
export const rule = unaryRule(['Clip'], (b, dy, x, _y, node) => {
  const lo: Value | number | undefined = node.inputs[1] ?? (node.hasAttr('min') ? node.attrFloat('min') : undefined);
  const hi: Value | number | undefined = node.inputs[2] ?? (node.hasAttr('max') ? node.attrFloat('max') : undefined);
  let m: Value | undefined;
  if (lo !== undefined) m = mask(b, b.op.Greater!([x, lo]));
  if (hi !== undefined) {
    const h = mask(b, b.op.Less!([x, hi]));
    m = m ? b.mul(m, h) : h;
  }
  return m ? b.mul(dy, m) : dy;
});
