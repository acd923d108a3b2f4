// Element types the IR understands, and their mapping to ONNX TensorProto.DataType codes.
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'bfloat16';

// ONNX code for each dtype (TensorProto.DataType).
export const ONNX_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};

const BY_CODE = new Map<number, DType>(Object.entries(ONNX_CODE).map(([k, v]) => [v, k as DType]));

// Look up a dtype from its ONNX code; throws on complex/unknown types the IR does not model.
export function dtypeFromCode(code: number): DType {
  const d = BY_CODE.get(code);
  if (!d) throw new Error(`unsupported ONNX tensor data type ${code}`);
  return d;
}

// Bytes per element as stored in raw_data.
export const BYTES: Record<DType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  int64: 8,
  string: 0,
  bool: 1,
  float16: 2,
  float64: 8,
  uint32: 4,
  uint64: 8,
  bfloat16: 2,
};

// Typed array used in memory for each dtype (float16/bfloat16 kept as raw uint16 bits).
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type Ctor = {
  new (n: number): TypedArray;
  new (buf: ArrayBufferLike, off: number, len: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

// Constructor of the in-memory array for a dtype.
export function arrayCtor(d: DType): Ctor {
  switch (d) {
    case 'float32':
      return Float32Array as unknown as Ctor;
    case 'float64':
      return Float64Array as unknown as Ctor;
    case 'int8':
      return Int8Array as unknown as Ctor;
    case 'uint8':
    case 'bool':
      return Uint8Array as unknown as Ctor;
    case 'int16':
      return Int16Array as unknown as Ctor;
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return Uint16Array as unknown as Ctor;
    case 'int32':
      return Int32Array as unknown as Ctor;
    case 'uint32':
      return Uint32Array as unknown as Ctor;
    case 'int64':
      return BigInt64Array as unknown as Ctor;
    case 'uint64':
      return BigUint64Array as unknown as Ctor;
    case 'string':
      throw new Error('string tensors have no typed array');
  }
}

// True for the dtypes gradients flow through.
export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'float64' || d === 'bfloat16';
}
