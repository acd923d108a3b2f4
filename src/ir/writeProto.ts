import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  NodeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ValueInfoProto,
} from '../onnx/onnx_pb.js';
import { ONNX_CODE } from './dtype.js';
import type { Attribute, Graph, ValueType } from './graph.js';
import { originalGraphProto, typeFromProto } from './readProto.js';
import type { Tensor } from './tensor.js';
import { pointToExternal, sharedTensorProto, tensorToProto } from './tensorProto.js';

// IR Graph -> GraphProto: the graph as it is now, over the proto it was read from (fields the IR does not model kept).

function attrToProto(name: string, a: Attribute): AttributeProto {
  if (a.proto) return a.proto;
  switch (a.kind) {
    case 'float':
      return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: a.value });
    case 'int':
      return create(AttributeProtoSchema, { name, type: AT.INT, i: toInt64(a.value) });
    case 'string':
      return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(a.value) });
    case 'floats':
      return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: a.value });
    case 'ints':
      return create(AttributeProtoSchema, { name, type: AT.INTS, ints: a.value.map(toInt64) });
    case 'strings':
      return create(AttributeProtoSchema, {
        name,
        type: AT.STRINGS,
        strings: a.value.map((s) => new TextEncoder().encode(s)),
      });
    case 'tensor':
      return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: tensorToProto('', a.value) });
    case 'other':
      return a.proto;
  }
}

const I64_MAX = (1n << 63n) - 1n;
// JS numbers beyond int64 (INT64_MAX read as a double) are clamped back into range.
function toInt64(v: number): bigint {
  if (v >= 9.2e18) return I64_MAX;
  if (v <= -9.2e18) return -I64_MAX - 1n;
  return BigInt(Math.trunc(v));
}

function valueInfo(name: string, t: ValueType | undefined, doc = ''): ValueInfoProto {
  if (!t) return create(ValueInfoProtoSchema, { name, docString: doc });
  const shape = t.shape
    ? create(TensorShapeProtoSchema, {
        dim: t.shape.map((d) =>
          create(TensorShapeProto_DimensionSchema, {
            value:
              typeof d === 'number'
                ? { case: 'dimValue', value: BigInt(d) }
                : { case: 'dimParam', value: d.startsWith('?') ? '' : d },
          }),
        ),
      })
    : undefined;
  return create(ValueInfoProtoSchema, {
    name,
    docString: doc,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, { elemType: ONNX_CODE[t.dtype], ...(shape ? { shape } : {}) }),
      },
    }),
  });
}

// Encode a graph; large initializers go to `ext` (a data file's chunks), or by reference to `share` (in-memory copies).
export function graphToProto(
  g: Graph,
  ext: { chunks: Uint8Array[]; offset: number; location: string; threshold: number } | undefined,
  withInfo: boolean,
  share?: Tensor[],
): GraphProto {
  const orig = originalGraphProto(g);
  const gp = orig ? Object.assign(create(GraphProtoSchema), orig) : create(GraphProtoSchema);
  gp.name = g.name;
  gp.docString = g.docString;
  gp.initializer = g.initializers.map((v) => {
    const t = v.constant!;
    if (share && t.byteLength >= 4096) return sharedTensorProto(v.name, t, share);
    const tp = tensorToProto(v.name, t);
    if (ext && t.byteLength >= ext.threshold) {
      const pad = (4096 - (ext.offset % 4096)) % 4096;
      if (pad) {
        ext.chunks.push(new Uint8Array(pad));
        ext.offset += pad;
      }
      pointToExternal(tp, ext.location, ext.offset, t.byteLength);
      ext.chunks.push(t.bytes());
      ext.offset += t.byteLength;
    }
    return tp;
  });
  const origInfo = new Map(
    (orig?.input ?? []).concat(orig?.output ?? [], orig?.valueInfo ?? []).map((vi) => [vi.name, vi]),
  );
  const info = (name: string, t: ValueType | undefined, doc: string) => {
    const o = origInfo.get(name);
    return o && (!t || sameType(o, t)) ? o : valueInfo(name, t, doc);
  };
  gp.input = g.inputs.map((v) => info(v.name, v.type, v.docString));
  gp.output = g.outputs.map((v) => info(v.name, v.type, v.docString));
  const io = new Set([...g.inputs, ...g.outputs, ...g.initializers].map((v) => v.name));
  gp.valueInfo = withInfo
    ? g.nodes
        .flatMap((n) => n.outputs)
        .filter((v) => v.type && !io.has(v.name))
        .map((v) => valueInfo(v.name, v.type))
    : (orig?.valueInfo ?? []).filter((vi) => g.values.has(vi.name) && !io.has(vi.name));
  gp.node = g.nodes.map((n) => {
    const np = n.proto ? Object.assign(create(NodeProtoSchema), n.proto) : create(NodeProtoSchema);
    np.name = n.name;
    np.opType = n.opType;
    np.domain = n.domain;
    np.input = n.inputs.map((v) => v?.name ?? '');
    // Optional outputs the file left unnamed ('') stay unnamed while nothing reads them (else ORT computes them).
    np.output = n.outputs.map((v, i) =>
      n.proto?.output[i] === '' && v.uses.length === 0 && !g.outputs.includes(v) ? '' : v.name,
    );
    np.attribute = [...n.attributes].map(([k, a]) => attrToProto(k, a));
    return np;
  });
  return gp;
}

function sameType(vi: ValueInfoProto, t: ValueType): boolean {
  const o = typeFromProto(vi);
  return !!o && o.dtype === t.dtype && JSON.stringify(o.shape ?? null) === JSON.stringify(t.shape ?? null);
}
