import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';

// Statistics of a normalisation over `axes` (keepdims), recomputed from x where the forward op does not output them.
export interface NormStats {
  xhat: Value;
  invstd: Value;
}

// xhat = (x - mean) * invstd, invstd = 1 / sqrt(var + eps), biased variance over `axes`, as every norm op defines it.
export function normStats(b: Builder, x: Value, axes: number[], eps: number): NormStats {
  const xc = b.sub(x, b.reduceMean(x, axes, true));
  const invstd = b.op.Reciprocal!([b.op.Sqrt!([b.add(b.reduceMean(b.mul(xc, xc), axes, true), eps)])]);
  return { xhat: b.mul(xc, invstd), invstd };
}

// The input gradient every standardisation shares, given dL/dxhat (the affine's scale already applied):
//   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  means over the normalised axes.
export function normBackward(b: Builder, dxhat: Value, s: NormStats, axes: number[]): Value {
  const centred = b.sub(dxhat, b.reduceMean(dxhat, axes, true));
  const proj = b.mul(s.xhat, b.reduceMean(b.mul(dxhat, s.xhat), axes, true));
  return b.mul(b.sub(centred, proj), s.invstd);
}
