import { create } from '@bufbuild/protobuf';
import {
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProtoSchema,
  type TensorProto,
} from '../onnx/onnx_pb.js';
import { UserError } from '../util/errors.js';
import { arrayCtor, dtypeFromCode, ONNX_CODE } from './dtype.js';
import { SHARED_LOCATION, type TensorSource } from './externalData.js';
import { numel, Tensor } from './tensor.js';

// Tensors to and from TensorProto: every encoding a file may use on the way in, raw bytes (or a shared reference)
// on the way out.

// Decode a TensorProto (raw, typed fields or external) into a Tensor.
export function tensorFromProto(t: TensorProto, ext?: TensorSource): Tensor {
  const dtype = dtypeFromCode(t.dataType);
  const dims = t.dims.map(Number);
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    if (!ext) throw new UserError(`tensor '${t.name}' has external data but no model folder is known`);
    return Tensor.fromBytes(dtype, dims, ext.read(t));
  }
  if (t.rawData.byteLength > 0 || numel(dims) === 0) return Tensor.fromBytes(dtype, dims, t.rawData);
  const C = arrayCtor(dtype);
  switch (dtype) {
    case 'float32':
      return new Tensor(dtype, dims, Float32Array.from(t.floatData));
    case 'float64':
      return new Tensor(dtype, dims, Float64Array.from(t.doubleData));
    case 'int64':
      return new Tensor(dtype, dims, BigInt64Array.from(t.int64Data));
    case 'uint64':
    case 'uint32': {
      const a = new C(t.uint64Data.length) as unknown as (number | bigint)[];
      t.uint64Data.forEach((v, i) => {
        a[i] = dtype === 'uint64' ? v : Number(v);
      });
      return new Tensor(dtype, dims, a as unknown as BigUint64Array);
    }
    default: {
      const a = new C(t.int32Data.length) as unknown as number[];
      t.int32Data.forEach((v, i) => {
        a[i] = v;
      });
      return new Tensor(dtype, dims, a as unknown as Int32Array);
    }
  }
}

// Encode a Tensor as a TensorProto with raw_data.
export function tensorToProto(name: string, t: Tensor): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType: ONNX_CODE[t.dtype],
    dims: t.dims.map((d) => BigInt(d)),
    rawData: t.bytes(),
  });
}

// An initializer of an in-memory copy (copyGraph): a reference to the original's tensor, whose bytes are not encoded.
export function sharedTensorProto(name: string, t: Tensor, share: Tensor[]): TensorProto {
  const tp = tensorToProto(name, t);
  pointToExternal(tp, SHARED_LOCATION, share.length, t.byteLength);
  share.push(t);
  return tp;
}

// Make a TensorProto refer to `length` bytes at `offset` of `location` instead of carrying them.
export function pointToExternal(tp: TensorProto, location: string, offset: number, length: number): void {
  tp.rawData = new Uint8Array(0);
  tp.dataLocation = TensorProto_DataLocation.EXTERNAL;
  tp.externalData = [
    ['location', location],
    ['offset', String(offset)],
    ['length', String(length)],
  ].map(([key, value]) => create(StringStringEntryProtoSchema, { key: key!, value: value! }));
}
