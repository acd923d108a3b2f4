import { PSEUDO_DOMAIN } from '../pseudo.js';
import { unaryRule } from '../unary.js';

// SiLU (the compiler's Silu pseudo-op), y = x·σ(x): dy/dx = σ(x)·(1 + x·(1 − σ(x))), with σ recomputed from x in the
// backward so the forward's σ(x) need not be kept (PyTorch's silu_backward does the same). It is recomputed as
// 0.5·tanh(x/2) + 0.5: a second Sigmoid(x) would be merged with the forward's by onnxruntime's common-subexpression
// elimination, which would keep the forward's alive until the backward again.
export const rule = {
  ...unaryRule(['Silu'], (b, dy, x) => {
    const s = b.add(b.mul(b.op.Tanh!([b.mul(x, 0.5)]), 0.5), 0.5);
    return b.mul(b.mul(dy, s), b.add(b.mul(x, b.sub(1, s)), 1));
  }),
  domain: PSEUDO_DOMAIN,
};
