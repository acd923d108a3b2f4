import type { DType, TypedArray } from '../ir/dtype.js';

// A tensor as it crosses the worker boundary: ORT type name, dims, and the data (transferred, not copied).
export interface TensorData {
  type: DType;
  dims: number[];
  data: TypedArray;
}

// Wrap a Float32Array with its dims.
export function f32(
  dims: number[],
  data: Float32Array = new Float32Array(dims.reduce((a, b) => a * b, 1)),
): TensorData {
  return { type: 'float32', dims, data };
}
