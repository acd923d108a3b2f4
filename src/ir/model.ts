import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  type ModelProto,
} from '../onnx/onnx_pb.js';
import { UserError, messageOf } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { DType } from './dtype.js';
import { ExternalData, SharedTensors } from './externalData.js';
import type { Graph } from './graph.js';
import { graphFromProto } from './readProto.js';
import type { Tensor } from './tensor.js';
import { validateModelProto } from './validate.js';
import { graphToProto } from './writeProto.js';

// An .onnx file <-> the IR: load, parse (validated), serialize and save a model. The proto conversions live in
// readProto.ts / writeProto.ts, tensors in tensorProto.ts, external data in externalData.ts.

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
