import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorShapeProto_DimensionSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../../src/onnx/onnx_pb.js';

// Mutants of the test fixtures, derived from a seed: byte-level damage (flips, truncation, splices) and structural
// edits of the decoded model (drop a node, dangle an input, a cycle, bad attributes, unknown ops, bad dims and dtypes,
// short raw data, escaping or missing external data, no outputs, duplicate names, bad opsets, bad input ranks).

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

// One fixture: the model bytes and the side files (external data) that travel with it.
export interface Fixture {
  name: string;
  onnx: Uint8Array;
  side: Record<string, Uint8Array>;
}

// What a correct tool must do with a mutant: refuse it ('invalid'), or either refuse it or give a correct result.
export type Expect = 'invalid' | 'any';

// A mutant: where it came from, how it was made, and the files to write into its own folder.
export interface Mutant {
  id: number;
  fixture: string;
  kind: string;
  detail: string;
  expect: Expect;
  files: Record<string, Uint8Array>;
}

// Small ONNX fixtures: two PyTorch exports of a ResNet (eval and training mode) and a CNN with external data.
export function loadFixtures(): Fixture[] {
  const f = (p: string) => new Uint8Array(readFileSync(join(FIXTURES, p)));
  return [
    { name: 'small_resnet_eval', onnx: f('small_resnet_eval.onnx'), side: {} },
    { name: 'small_resnet_train', onnx: f('small_resnet_train.onnx'), side: {} },
    { name: 'small_ext', onnx: f('small_ext/model.onnx'), side: { 'weights.bin': f('small_ext/weights.bin') } },
  ];
}

// mulberry32: a seeded stream so mutant N of seed S is the same file on every machine.
export class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

type Edit = { kind: string; detail: string; expect: Expect };
type ByteMutator = (r: Rng, bytes: Uint8Array, all: Fixture[]) => { bytes: Uint8Array } & Edit;
// A structural mutator edits the decoded model in place; it returns undefined when the model offers nothing to edit.
type ProtoMutator = (r: Rng, m: ModelProto, fx: Fixture) => Edit | undefined;

const BYTE_MUTATORS: Record<string, ByteMutator> = {
  flip: (r, b) => {
    const out = new Uint8Array(b);
    const n = 1 + r.int(8);
    for (let i = 0; i < n; i++) out[r.int(out.length)]! ^= 1 + r.int(255);
    return { bytes: out, kind: 'flip', detail: `${n} bytes`, expect: 'any' };
  },
  truncate: (r, b) => {
    const len = r.int(b.length);
    return { bytes: b.subarray(0, len), kind: 'truncate', detail: `to ${len} of ${b.length} bytes`, expect: 'any' };
  },
  splice: (r, b, all) => {
    const donor = r.pick(all).onnx;
    const at = r.int(b.length),
      from = r.int(donor.length),
      len = 1 + r.int(Math.min(4096, donor.length - from));
    const out = new Uint8Array([
      ...b.subarray(0, at),
      ...donor.subarray(from, from + len),
      ...b.subarray(at + (r.next() < 0.5 ? len : 0)),
    ]);
    return { bytes: out, kind: 'splice', detail: `${len} donor bytes at ${at}`, expect: 'any' };
  },
};

const nodesWith = (m: ModelProto, f: (n: NodeProto) => boolean) => m.graph!.node.filter(f);
const HUGE_DIMS = [-1n, -7n, 0n, 1n << 62n, 1n << 31n, 1n << 40n, 3n];

const PROTO_MUTATORS: Record<string, ProtoMutator> = {
  dropNode: (r, m) => {
    const i = r.int(m.graph!.node.length);
    const [n] = m.graph!.node.splice(i, 1);
    return { kind: 'dropNode', detail: `${n!.opType} '${n!.name}'`, expect: 'any' };
  },
  dangleInput: (r, m) => {
    const n = r.pick(nodesWith(m, (x) => x.input.length > 0));
    const k = r.int(n.input.length);
    n.input[k] = `nowhere_${r.int(1000)}`;
    return { kind: 'dangleInput', detail: `${n.name} input ${k}`, expect: 'invalid' };
  },
  cycle: (r, m) => {
    const g = m.graph!;
    const i = r.int(g.node.length);
    const a = g.node[i]!;
    const child = g.node.find((x) => x !== a && x.input.some((v) => a.output.includes(v)));
    if (!child || a.input.length === 0 || r.next() < 0.3) {
      if (a.input.length === 0) return undefined;
      a.input[0] = a.output[0]!; // a node reading its own output
      return { kind: 'cycle', detail: `${a.name} reads itself`, expect: 'invalid' };
    }
    a.input[0] = child.output[0]!;
    return { kind: 'cycle', detail: `${a.name} <-> ${child.name}`, expect: 'invalid' };
  },
  badAttribute: (r, m) => {
    const n = r.pick(nodesWith(m, (x) => x.attribute.length > 0).concat(m.graph!.node.slice(0, 1)));
    const a = n.attribute.length ? r.pick(n.attribute) : undefined;
    if (!a || r.next() < 0.15) {
      n.attribute.splice(0, n.attribute.length);
      return { kind: 'badAttribute', detail: `${n.name}: all attributes removed`, expect: 'any' };
    }
    const choice = r.int(6);
    if (choice === 0) {
      a.type = AT.FLOAT;
      a.f = r.pick([Number.NaN, Infinity, -1e30]);
    } else if (choice === 1) {
      a.type = AT.INT;
      a.i = r.pick([-5n, 0n, 1n << 40n, -(1n << 62n), 2n]);
    } else if (choice === 2) {
      a.type = AT.INTS;
      a.ints = r.pick([[], [-1n, -1n], [0n, 0n, 0n], [1n << 40n, 1n], [1n, 1n, 1n, 1n, 1n]]);
    } else if (choice === 3) {
      a.type = r.pick([AT.UNDEFINED, AT.STRING, AT.GRAPH, 99 as AT]);
    } else if (choice === 4 && a.type === AT.FLOAT) a.f = r.pick([Number.NaN, -1, 1e9, 0]);
    else if (a.type === AT.INTS && a.ints.length) a.ints[r.int(a.ints.length)] = r.pick([-3n, 0n, 1n << 33n]);
    else a.name = r.pick(['', 'no_such_attribute', n.attribute[0]!.name]);
    return { kind: 'badAttribute', detail: `${n.name}.${a.name} (variant ${choice})`, expect: 'any' };
  },
  unknownOp: (r, m) => {
    const n = r.pick(m.graph!.node);
    if (r.next() < 0.5) n.opType = r.pick(['FancyConv', 'Relu6x', 'conv', 'ATen', '']);
    else n.domain = r.pick(['com.evil', 'org.pytorch.aten', 'ai.onnx.ml.x']);
    return { kind: 'unknownOp', detail: `${n.name} -> ${n.domain}:${n.opType}`, expect: 'invalid' };
  },
  initializerDims: (r, m) => {
    const t = pickInit(r, m);
    if (!t) return undefined;
    if (t.dims.length === 0) t.dims.push(r.pick(HUGE_DIMS));
    else t.dims[r.int(t.dims.length)] = r.pick(HUGE_DIMS.filter((d) => d !== 1n));
    return { kind: 'initializerDims', detail: `${t.name} dims [${t.dims.join(', ')}]`, expect: 'any' };
  },
  inputDims: (r, m) => {
    const vi = r.pick([...m.graph!.input, ...m.graph!.output]);
    const dims = vi.type?.value.case === 'tensorType' ? vi.type.value.value.shape?.dim : undefined;
    if (!dims || dims.length === 0) return undefined;
    const k = r.int(dims.length);
    dims[k] = create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: r.pick(HUGE_DIMS) } });
    return { kind: 'inputDims', detail: `${vi.name} dim ${k}`, expect: 'any' };
  },
  inputRank: (r, m) => {
    const vi = r.pick(m.graph!.input);
    const dims = vi.type?.value.case === 'tensorType' ? vi.type.value.value.shape?.dim : undefined;
    if (!dims) return undefined;
    if (r.next() < 0.5 && dims.length) dims.splice(r.int(dims.length), 1);
    else
      dims.push(create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(1 + r.int(4)) } }));
    return { kind: 'inputRank', detail: `${vi.name} rank ${dims.length}`, expect: 'any' };
  },
  wrongDtype: (r, m) => {
    const code = r.pick([0, 6, 7, 8, 10, 14, 17, 23, 31, 99, -1]);
    if (r.next() < 0.5) {
      const t = pickInit(r, m);
      if (!t) return undefined;
      t.dataType = code;
      return { kind: 'wrongDtype', detail: `initializer ${t.name} -> ${code}`, expect: 'any' };
    }
    const vi = r.pick([...m.graph!.input, ...m.graph!.output]);
    if (vi.type?.value.case !== 'tensorType') return undefined;
    vi.type.value.value.elemType = code;
    return { kind: 'wrongDtype', detail: `${vi.name} -> ${code}`, expect: 'any' };
  },
  shortRawData: (r, m) => {
    const t = pickInit(r, m, (x) => x.rawData.byteLength > 0);
    if (!t) return undefined;
    const cut = 1 + r.int(Math.min(64, t.rawData.byteLength));
    t.rawData =
      r.next() < 0.7
        ? t.rawData.subarray(0, t.rawData.byteLength - cut)
        : new Uint8Array([...t.rawData, ...new Uint8Array(cut)]);
    return { kind: 'shortRawData', detail: `${t.name} ${t.rawData.byteLength} bytes`, expect: 'invalid' };
  },
  externalData: (r, m, fx) => {
    const t = pickInit(r, m);
    if (!t) return undefined;
    const loc = r.pick(['../escape.bin', '/etc/passwd', 'missing.bin', '.', 'sub/../../x.bin', 'weights.bin']);
    const entries: [string, string][] = [['location', loc]];
    const variant = r.int(4);
    if (variant === 1) entries.push(['offset', r.pick(['-4', '99999999999', 'abc', '1e3'])]);
    if (variant === 2) entries.push(['length', r.pick(['7', '0', '-1', String(2 ** 40)])]);
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    t.externalData = entries.map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
    // Without offset or length, a tensor pointed at the fixture's own weights file reads its first bytes: wrong
    // values, but a well-formed model.
    const fine = loc === 'weights.bin' && (variant === 0 || variant === 3) && Object.keys(fx.side).length > 0;
    return {
      kind: 'externalData',
      detail: `${t.name} -> ${entries.map((e) => e.join('=')).join(' ')}`,
      expect: fine ? 'any' : 'invalid',
    };
  },
  noOutputs: (_r, m) => {
    m.graph!.output = [];
    return { kind: 'noOutputs', detail: '', expect: 'invalid' };
  },
  duplicateName: (r, m) => {
    const g = m.graph!;
    const v = r.int(4);
    if (v === 0 && g.initializer.length) {
      g.initializer.push(r.pick(g.initializer));
      return { kind: 'duplicateName', detail: 'initializer twice', expect: 'invalid' };
    }
    if (v === 1 && g.node.length > 1) {
      const a = r.pick(g.node),
        b = r.pick(g.node.filter((x) => x !== a));
      b.output[0] = a.output[0]!;
      return { kind: 'duplicateName', detail: `${b.name} writes ${a.output[0]}`, expect: 'invalid' };
    }
    if (v === 2) {
      g.input.push(r.pick(g.input));
      return { kind: 'duplicateName', detail: 'graph input twice', expect: 'invalid' };
    }
    g.output.push(r.pick(g.output));
    return { kind: 'duplicateName', detail: 'graph output twice', expect: 'invalid' };
  },
  badOpset: (r, m) => {
    const v = r.int(4);
    if (v === 0) {
      m.opsetImport = [];
      return { kind: 'badOpset', detail: 'no opset_import', expect: 'invalid' };
    }
    if (v === 1) {
      m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: '', version: 17n }));
      return { kind: 'badOpset', detail: 'default domain twice', expect: 'invalid' };
    }
    const version = v === 2 ? r.pick([0n, 99n, -1n, 1n << 40n, 29n]) : r.pick([1n, 5n, 9n, 13n, 18n, 21n]);
    for (const o of m.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = version;
    return { kind: 'badOpset', detail: `opset ${version}`, expect: v === 2 ? 'invalid' : 'any' };
  },
  irVersion: (r, m) => {
    m.irVersion = r.pick([0n, -3n, 99n, 1n, 3n]);
    return {
      kind: 'irVersion',
      detail: String(m.irVersion),
      expect: m.irVersion === 99n || m.irVersion <= 0n ? 'invalid' : 'any',
    };
  },
};

function pickInit(r: Rng, m: ModelProto, f: (t: TensorProto) => boolean = () => true): TensorProto | undefined {
  const ts = m.graph!.initializer.filter(f);
  return ts.length ? r.pick(ts) : undefined;
}

// Byte-level and structural mutants are drawn about 1:2 (each byte kind 3x as often as each structural kind).
const BYTE_KINDS = Object.keys(BYTE_MUTATORS);
const KINDS = [...BYTE_KINDS, ...BYTE_KINDS, ...BYTE_KINDS, ...Object.keys(PROTO_MUTATORS)];

// Mutant `id` of a seeded run: the same (seed, id) always gives the same files.
export function makeMutant(fixtures: Fixture[], seed: number, id: number): Mutant {
  const r = new Rng((seed * 0x9e3779b1) ^ (id * 0x85ebca6b));
  for (let attempt = 0; ; attempt++) {
    const fx = r.pick(fixtures);
    const kind = r.pick(KINDS);
    const byte = BYTE_MUTATORS[kind];
    if (byte) {
      const e = byte(r, fx.onnx, fixtures);
      return {
        id,
        fixture: fx.name,
        kind: e.kind,
        detail: e.detail,
        expect: e.expect,
        files: { 'model.onnx': e.bytes, ...fx.side },
      };
    }
    const m = fromBinary(ModelProtoSchema, fx.onnx);
    const e = PROTO_MUTATORS[kind]!(r, m, fx);
    if (!e && attempt < 20) continue;
    const edit = e ?? { kind: 'none', detail: 'unmodified', expect: 'any' as const };
    return { id, fixture: fx.name, ...edit, files: { 'model.onnx': toBinary(ModelProtoSchema, m), ...fx.side } };
  }
}
