// The one tolerance check the reference tests share: |got − want| ≤ atol + rtol·|want| element-wise.
import assert from 'node:assert/strict';

// The worst element of a comparison: its index, its ratio to the tolerance and its absolute error.
export interface Worst {
  at: number;
  ratio: number;
  abs: number;
}

// Assert every element is within tolerance of PyTorch's, naming the worst one on failure; returns the worst.
export function assertClose(name: string, got: ArrayLike<number>, want: number[], atol = 2e-5, rtol = 1e-3): Worst {
  assert.equal(got.length, want.length, `${name}: length`);
  let ratio = 0,
    at = 0,
    abs = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    const e = d / (atol + rtol * Math.abs(want[i]!));
    if (e > ratio) {
      ratio = e;
      at = i;
    }
    abs = Math.max(abs, d);
  }
  assert.ok(ratio <= 1, `${name}: element ${at} is ${got[at]}, PyTorch has ${want[at]} (ratio ${ratio.toFixed(2)})`);
  return { at, ratio, abs };
}
