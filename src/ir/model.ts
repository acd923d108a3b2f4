import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from '../onnx/onnx_pb.js';
import { UserError, messageOf } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { arrayCtor, BYTES, dtypeFromCode, ONNX_CODE, type DType } from './dtype.js';
import { Graph, Node, type Attribute, type Shape, type ValueType } from './graph.js';
import { Tensor } from './tensor.js';
import { validateModelProto } from './validate.js';

export { KNOWN_DOMAINS } from './validate.js';

// An ONNX model: the graph in IR form plus the model-level fields kept verbatim for round-trips.
export class Model {
  constructor(
    public graph: Graph,
    public opsets: Map<string, number>,
    // The original proto (ir_version, producer, functions, unknown fields); its graph is rebuilt on save.
    public proto: ModelProto = create(ModelProtoSchema, { irVersion: 8n, producerName: 'onnx-distill' }),
  ) {}

  get opset(): number {
    return this.opsets.get('') ?? this.opsets.get('ai.onnx') ?? 17;
  }

  metadata(): Map<string, string> {
    return new Map(this.proto.metadataProps.map((e) => [e.key, e.value]));
  }

  setMetadata(key: string, value: string): void {
    const e = this.proto.metadataProps.find((m) => m.key === key);
    if (e) e.value = value;
    else this.proto.metadataProps.push(create(StringStringEntryProtoSchema, { key, value }));
  }
}

// Read an .onnx file (external data resolved next to it) into the IR; user errors name the file.
export function loadModel(path: string): Model {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  const st = statSync(path);
  if (st.isDirectory()) throw new UserError(`${path}: is a folder, expected an .onnx file`);
  if (!st.isFile())
    throw new UserError(`${path}: is not a regular file (a device, socket or pipe), expected an .onnx file`);
  if (st.size > MAX_MODEL_BYTES)
    throw new UserError(
      `${path}: is ${st.size} bytes; protobuf caps an .onnx file at 2 GiB (keep large weights in external data)`,
    );
  return parseModel(readFileSync(path), path);
}

// Protobuf's own limit on one message; larger weights live in external data files.
const MAX_MODEL_BYTES = 2 ** 31 - 1;

// Parse model bytes, validated as onnx's checker and onnxruntime's loader would (see validate.ts); `path` locates
// external data and names the file in errors.
export function parseModel(bytes: Uint8Array, path = '<bytes>', o: { shared?: Tensor[] } = {}): Model {
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (err: unknown) {
    throw new UserError(
      `${path}: not a valid ONNX model (protobuf decoding failed: ${messageOf(err)}); the file may be truncated or not ONNX`,
    );
  }
  if (!proto.graph || proto.irVersion <= 0n || (proto.graph.node.length === 0 && proto.graph.output.length === 0)) {
    throw new UserError(`${path}: not an ONNX model (no graph or ir_version found)`);
  }
  validateModelProto(proto, path);
  const opsets = new Map<string, number>();
  for (const o of proto.opsetImport) opsets.set(o.domain === 'ai.onnx' ? '' : o.domain, Number(o.version));
  const ext = o.shared
    ? new SharedTensors(o.shared)
    : new ExternalData(path === '<bytes>' ? process.cwd() : dirname(resolve(path)), path);
  const graph = graphFromProto(proto.graph, ext);
  const model = new Model(graph, opsets, proto);
  proto.graph = undefined;
  return model;
}

// Where an initializer's external bytes come from: a file beside the model, or tensors already in memory.
interface TensorSource {
  read(t: TensorProto): Uint8Array;
}

// The location of initializers a copy shares with the graph it was copied from (serializeModel's `share`).
const SHARED_LOCATION = 'onnx-distill-shared-tensors';

// In-memory external data: the offset indexes a list of tensors, whose bytes are handed back without copying.
class SharedTensors implements TensorSource {
  constructor(private tensors: Tensor[]) {}

  read(t: TensorProto): Uint8Array {
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const shared = info.get('location') === SHARED_LOCATION ? this.tensors[Number(info.get('offset'))] : undefined;
    if (!shared) throw new Error(`tensor '${t.name}' is not one of the shared tensors of this copy`);
    return shared.bytes();
  }
}

// Reads each external tensor's own byte range (positioned reads): nothing is allocated before the range is checked
// against the file's real size, and the file must resolve, links included, inside the model's folder.
class ExternalData implements TensorSource {
  private sizes = new Map<string, number>();
  constructor(
    private dir: string,
    private modelPath: string,
  ) {}

  private fail(msg: string): never {
    throw new UserError(`${this.modelPath}: ${msg}`);
  }

  private sizeOf(full: string, loc: string, name: string): number {
    const known = this.sizes.get(full);
    if (known !== undefined) return known;
    if (!existsSync(full))
      this.fail(`external data file '${loc}' for tensor '${name}' is missing (looked in ${this.dir})`);
    const rel = relative(realpathSync(this.dir), realpathSync(full));
    if (rel.startsWith('..') || isAbsolute(rel))
      this.fail(
        `external data '${loc}' for tensor '${name}' is a link to a file outside the model's folder; refusing to read it`,
      );
    const st = statSync(full);
    if (!st.isFile()) this.fail(`external data '${loc}' for tensor '${name}' is not a regular file`);
    this.sizes.set(full, st.size);
    return st.size;
  }

  read(t: TensorProto): Uint8Array {
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const loc = info.get('location');
    if (!loc) this.fail(`tensor '${t.name}' is external but has no location`);
    const full = resolve(this.dir, loc);
    const rel = relative(this.dir, full);
    if (isAbsolute(loc) || rel.startsWith('..') || isAbsolute(rel) || rel === '') {
      this.fail(`tensor '${t.name}' points at external data '${loc}' outside the model's folder; refusing to read it`);
    }
    const size = this.sizeOf(full, loc, t.name);
    // validate.ts has checked that offset and length are byte counts and that a given length matches the dims.
    const offset = Number(info.get('offset') ?? 0);
    const need = numelOf(t.dims.map(Number)) * BYTES[dtypeFromCode(t.dataType)];
    if (offset + need > size) {
      this.fail(
        `external data '${loc}' is too short for tensor '${t.name}' (needs bytes ${offset}..${offset + need}, file has ${size})`,
      );
    }
    const out = new Uint8Array(need);
    const fd = openSync(full, 'r');
    try {
      for (let done = 0; done < need;) {
        const n = readSync(fd, out, done, need - done, offset + done);
        if (n === 0) this.fail(`external data '${loc}' ended while reading tensor '${t.name}'`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}

// Decode a TensorProto (raw, typed fields or external) into a Tensor.
export function tensorFromProto(t: TensorProto, ext?: TensorSource): Tensor {
  const dtype = dtypeFromCode(t.dataType);
  const dims = t.dims.map(Number);
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    if (!ext) throw new UserError(`tensor '${t.name}' has external data but no model folder is known`);
    return Tensor.fromBytes(dtype, dims, ext.read(t));
  }
  if (t.rawData.byteLength > 0 || numelOf(dims) === 0) return Tensor.fromBytes(dtype, dims, t.rawData);
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

function numelOf(d: number[]): number {
  return d.reduce((a, b) => a * b, 1);
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

const MODELLED_CODES = new Set<number>(Object.values(ONNX_CODE));

function typeFromProto(vi: ValueInfoProto): ValueType | undefined {
  const tt = vi.type?.value.case === 'tensorType' ? vi.type.value.value : undefined;
  if (!tt || !tt.elemType) return undefined;
  const shape: Shape | undefined = tt.shape
    ? tt.shape.dim.map((d, i) =>
        d.value.case === 'dimValue'
          ? Number(d.value.value)
          : d.value.case === 'dimParam'
            ? d.value.value
            : `?${vi.name}:${i}`,
      )
    : undefined;
  // Element types the IR does not model (complex, 8-bit floats) leave the value untyped; the original is kept on save.
  if (!MODELLED_CODES.has(tt.elemType)) return undefined;
  return shape ? { dtype: dtypeFromCode(tt.elemType), shape } : { dtype: dtypeFromCode(tt.elemType) };
}

function attrFromProto(a: AttributeProto): Attribute {
  switch (a.type) {
    case AT.FLOAT:
      return { kind: 'float', value: a.f, proto: a };
    case AT.INT:
      return { kind: 'int', value: Number(a.i), proto: a };
    case AT.STRING:
      return { kind: 'string', value: new TextDecoder().decode(a.s), proto: a };
    case AT.FLOATS:
      return { kind: 'floats', value: [...a.floats], proto: a };
    case AT.INTS:
      return { kind: 'ints', value: a.ints.map(Number), proto: a };
    case AT.STRINGS:
      return { kind: 'strings', value: a.strings.map((s) => new TextDecoder().decode(s)), proto: a };
    // String tensors (and types the IR does not model) stay opaque; they are kept verbatim on save.
    case AT.TENSOR:
      return a.t && MODELLED_CODES.has(a.t.dataType) && a.t.dataType !== ONNX_CODE.string
        ? { kind: 'tensor', value: tensorFromProto(a.t), proto: a }
        : { kind: 'other', proto: a };
    default:
      return { kind: 'other', proto: a };
  }
}

function graphFromProto(gp: GraphProto, ext: TensorSource): Graph {
  const g = new Graph(gp.name || 'graph');
  g.docString = gp.docString;
  for (const t of gp.initializer) g.addInitializer(t.name, tensorFromProto(t, ext));
  const inits = new Set(gp.initializer.map((t) => t.name));
  for (const vi of gp.input) {
    const v = g.value(vi.name, typeFromProto(vi));
    v.docString = vi.docString;
    if (!inits.has(vi.name)) g.inputs.push(v);
  }
  for (const vi of gp.valueInfo) g.value(vi.name, typeFromProto(vi));
  for (const vi of gp.output) g.value(vi.name, typeFromProto(vi));
  gp.node.forEach((np, i) => {
    const node = new Node(np.opType, np.name || `${np.opType}_${i}`, np.domain === 'ai.onnx' ? '' : np.domain);
    node.proto = np;
    for (const a of np.attribute) node.attributes.set(a.name, attrFromProto(a));
    const ins = np.input.map((n) => (n === '' ? undefined : g.value(n)));
    const outs = np.output.map((n) => g.value(n === '' ? g.uniqueName(`${node.name}_unused`) : n));
    g.addNode(node, ins, outs);
  });
  g.outputs = gp.output.map((vi) => g.value(vi.name));
  keepRest.set(g, gp);
  return g;
}

// The original GraphProto, for fields the IR does not model (sparse initializers, annotations, unknown fields).
const keepRest = new WeakMap<Graph, GraphProto>();

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

// Options for writing a model: external data sidecar and shape annotations.
export interface SaveOptions {
  // Sidecar file name (relative to the model) for large tensors; set automatically past 1.8 GiB.
  externalData?: string;
  // In-memory copies (copyGraph): initializers of at least 4 KiB are not encoded but collected here, so that a
  // parse with `{ shared }` hands the same bytes back instead of a second copy of every weight.
  share?: Tensor[];
  // Tensors at least this many bytes go to the sidecar (default 1024).
  externalThreshold?: number;
  // Emit value_info for every value with a known type.
  valueInfo?: boolean;
}

function sharedTensorProto(name: string, t: Tensor, share: Tensor[]): TensorProto {
  const tp = tensorToProto(name, t);
  tp.rawData = new Uint8Array(0);
  tp.dataLocation = TensorProto_DataLocation.EXTERNAL;
  tp.externalData = [
    ['location', SHARED_LOCATION],
    ['offset', String(share.length)],
    ['length', String(t.byteLength)],
  ].map(([key, value]) => create(StringStringEntryProtoSchema, { key: key!, value: value! }));
  share.push(t);
  return tp;
}

function graphToProto(
  g: Graph,
  ext: { chunks: Uint8Array[]; offset: number; location: string; threshold: number } | undefined,
  withInfo: boolean,
  share?: Tensor[],
): GraphProto {
  const orig = keepRest.get(g);
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
      tp.rawData = new Uint8Array(0);
      tp.dataLocation = TensorProto_DataLocation.EXTERNAL;
      tp.externalData = [
        ['location', ext.location],
        ['offset', String(ext.offset)],
        ['length', String(t.byteLength)],
      ].map(([key, value]) => create(StringStringEntryProtoSchema, { key: key!, value: value! }));
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

// Encode a model; returns the .onnx bytes and, when requested, the external data bytes.
export function serializeModel(
  model: Model,
  opts: SaveOptions = {},
): { onnx: Uint8Array; external?: { location: string; chunks: Uint8Array[] } } {
  const total = model.graph.initializers.reduce((s, v) => s + (v.constant?.byteLength ?? 0), 0);
  const location = opts.externalData ?? (total > 1.8 * 2 ** 30 ? 'model.onnx.data' : undefined);
  const ext = location
    ? { chunks: [] as Uint8Array[], offset: 0, location, threshold: opts.externalThreshold ?? 1024 }
    : undefined;
  const mp = Object.assign(create(ModelProtoSchema), model.proto);
  if (mp.irVersion <= 0n) mp.irVersion = 8n;
  mp.opsetImport = [...model.opsets].map(([domain, version]) =>
    create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
  );
  mp.graph = graphToProto(model.graph, ext, !!opts.valueInfo, opts.share);
  const onnx = toBinary(ModelProtoSchema, mp);
  return ext ? { onnx, external: { location: ext.location, chunks: ext.chunks } } : { onnx };
}

// Write a model atomically; large models get an external data file beside them.
export function saveModel(model: Model, path: string, opts: SaveOptions = {}): void {
  const { onnx, external } = serializeModel(model, {
    ...opts,
    externalData: opts.externalData ?? (opts.externalThreshold ? `${basename(path)}.data` : undefined),
  });
  if (external) writeFileAtomic(resolve(dirname(path), external.location), external.chunks);
  writeFileAtomic(path, onnx);
}

// Create an empty model at an opset, for graphs the tool builds itself.
export function newModel(graph: Graph, opset = 17): Model {
  return new Model(graph, new Map([['', opset]]));
}

export type { DType };
