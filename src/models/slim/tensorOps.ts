import { arrayCtor } from '../../ir/dtype.js';
import { Tensor } from '../../ir/tensor.js';

// Keep the given indices of one axis of a constant tensor (the core move of channel slimming).
export function takeAxis(t: Tensor, axis: number, idx: number[]): Tensor {
  const dims = [...t.dims];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  dims[axis] = idx.length;
  const C = arrayCtor(t.dtype);
  const out = new C(outer * idx.length * inner) as unknown as { set(a: ArrayLike<unknown>, o: number): void };
  const src = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> };
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const i of idx) {
      const start = (a * n + i) * inner;
      out.set(src.subarray(start, start + inner), o);
      o += inner;
    }
  }
  return new Tensor(t.dtype, dims, out as unknown as Tensor['data']);
}
