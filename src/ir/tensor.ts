import { arrayCtor, BYTES, type DType, type TypedArray } from './dtype.js';

// A constant tensor in memory: initializers, Constant values and folded shape arithmetic.
export class Tensor {
  constructor(
    readonly dtype: DType,
    readonly dims: readonly number[],
    readonly data: TypedArray,
  ) {
    const n = numel(dims);
    if (data.length !== n)
      throw new Error(`tensor data has ${data.length} elements, dims ${JSON.stringify(dims)} need ${n}`);
  }

  get size(): number {
    return this.data.length;
  }

  get byteLength(): number {
    return this.data.length * BYTES[this.dtype];
  }

  // Values as plain numbers (int64 converted; exact only below 2^53, which holds for shapes and axes).
  toNumbers(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, (v) => Number(v));
  }

  // Raw little-endian bytes without copying.
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  static float32(dims: readonly number[], values?: ArrayLike<number>): Tensor {
    const data = new Float32Array(numel(dims));
    if (values) data.set(values);
    return new Tensor('float32', dims, data);
  }

  static int64(dims: readonly number[], values: ArrayLike<number | bigint>): Tensor {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
    return new Tensor('int64', dims, data);
  }

  static scalar(value: number, dtype: DType = 'float32'): Tensor {
    const data = new (arrayCtor(dtype))(1);
    (data as unknown as (number | bigint)[])[0] = dtype === 'int64' || dtype === 'uint64' ? BigInt(value) : value;
    return new Tensor(dtype, [], data);
  }

  // View raw bytes as a typed array: zero-copy when aligned, copied when not.
  static fromBytes(dtype: DType, dims: readonly number[], bytes: Uint8Array): Tensor {
    const C = arrayCtor(dtype);
    const n = numel(dims);
    if (bytes.byteLength !== n * C.BYTES_PER_ELEMENT) {
      throw new Error(
        `raw data has ${bytes.byteLength} bytes, expected ${n * C.BYTES_PER_ELEMENT} for ${dtype}${JSON.stringify(dims)}`,
      );
    }
    if (bytes.byteOffset % C.BYTES_PER_ELEMENT === 0)
      return new Tensor(dtype, dims, new C(bytes.buffer, bytes.byteOffset, n));
    const copy = new Uint8Array(bytes);
    return new Tensor(dtype, dims, new C(copy.buffer, 0, n));
  }
}

// Number of elements of a shape.
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
