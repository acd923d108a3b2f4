import {
  AttributeProto_AttributeType as AT,
  TensorProto_DataLocation,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from '../onnx/onnx_pb.js';
import { UserError } from '../util/errors.js';
import { BYTES, dtypeFromCode, ONNX_CODE, type DType } from './dtype.js';
import { LATEST_OPSET, ONNX_OPS } from './onnxOps.js';
import { checkOpAttributes, checkOpArity } from './validateOps.js';

// What onnx's checker and onnxruntime's loader refuse, checked on the decoded proto before the IR is built, so a
// hostile file is a UserError naming the file and the node or tensor, never a crash deep in a pass.

// Domains onnxruntime executes; anything else is refused with the node named.
export const KNOWN_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'com.microsoft',
  'ai.onnx.preview.training',
  'ai.onnx.preview',
]);
// IR versions ONNX has defined (onnx.in.proto IR_VERSION); newer files come from a future exporter.
export const LATEST_IR_VERSION = 14;
// Element-type codes ONNX defines (TensorProto.DataType up to INT2); the IR models the subset in ONNX_CODE.
const LAST_ONNX_DTYPE = 26;
// A dim no image model needs; larger claims are refused before anything is sized from them.
export const MAX_DIM = 2 ** 31 - 1;

const MODELLED = new Set<number>(Object.values(ONNX_CODE));
const EXTERNAL_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

class Ctx {
  constructor(
    readonly path: string,
    readonly opsets: Map<string, number>,
    readonly functions: Set<string>,
  ) {}
  fail(msg: string): never {
    throw new UserError(`${this.path}: ${msg}`);
  }
}

// Check a decoded model: opsets, every graph (names, producers, cycles, outputs), nodes, attributes and tensors.
export function validateModelProto(proto: ModelProto, path: string): void {
  const ctx = new Ctx(path, checkOpsets(proto, path), new Set(proto.functions.map((f) => `${f.domain}:${f.name}`)));
  if (proto.irVersion > BigInt(LATEST_IR_VERSION)) {
    ctx.fail(
      `ir_version ${proto.irVersion} is newer than any ONNX release knows (${LATEST_IR_VERSION}); re-export with an older exporter`,
    );
  }
  checkGraph(proto.graph!, ctx, new Set(), 'the graph');
}

function checkOpsets(proto: ModelProto, path: string): Map<string, number> {
  const opsets = new Map<string, number>();
  for (const o of proto.opsetImport) {
    const domain = o.domain === 'ai.onnx' ? '' : o.domain;
    const shown = domain || 'ai.onnx';
    if (opsets.has(domain)) throw new UserError(`${path}: opset_import lists domain '${shown}' twice`);
    const latest = LATEST_OPSET[domain];
    if (o.version < 1n || o.version > BigInt(latest ?? 10_000)) {
      throw new UserError(
        `${path}: opset ${o.version} for domain '${shown}' is outside the known range 1..${latest ?? 10_000}`,
        domain === ''
          ? 'onnx-distill reads opsets 1 and later up to the newest ONNX release; re-export the model (opset 17 or 18 is a good choice)'
          : undefined,
      );
    }
    opsets.set(domain, Number(o.version));
  }
  const usesDefault = proto.graph!.node.some((n) => n.domain === '' || n.domain === 'ai.onnx');
  if (proto.irVersion >= 3n && usesDefault && !opsets.has(''))
    throw new UserError(
      `${path}: the model imports no opset for the default ONNX domain (opset_import has no 'ai.onnx' entry)`,
    );
  return opsets;
}

// Names visible in a graph: outer-scope names (for subgraphs), inputs, initializers, node outputs.
function checkGraph(gp: GraphProto, ctx: Ctx, outer: Set<string>, where: string): void {
  const defined = new Set<string>(outer);
  const local = new Set<string>();
  const define = (name: string, what: string) => {
    if (local.has(name))
      ctx.fail(`${where}: the name '${name}' is defined twice (${what}); every value needs one producer`);
    local.add(name);
    defined.add(name);
  };
  const inits = new Set<string>();
  for (const t of gp.initializer) {
    if (!t.name) ctx.fail(`${where}: an initializer has no name`);
    if (inits.has(t.name)) ctx.fail(`${where}: initializer '${t.name}' appears twice`);
    inits.add(t.name);
    checkTensor(t, ctx, `initializer '${t.name}'`);
  }
  for (const s of gp.sparseInitializer) {
    if (s.values) checkTensor(s.values, ctx, `sparse initializer '${s.values.name}'`);
    if (s.indices) checkTensor(s.indices, ctx, `sparse initializer '${s.values?.name ?? ''}' indices`);
    if (s.values?.name) inits.add(s.values.name);
  }
  const inputs = new Set<string>();
  for (const vi of gp.input) {
    if (!vi.name) ctx.fail(`${where}: a graph input has no name`);
    if (inputs.has(vi.name)) ctx.fail(`${where}: graph input '${vi.name}' is declared twice`);
    inputs.add(vi.name);
    checkValueInfo(vi, ctx, `graph input '${vi.name}'`);
  }
  for (const name of new Set([...inputs, ...inits])) define(name, 'graph input or initializer');
  for (const vi of gp.valueInfo) checkValueInfo(vi, ctx, `value_info '${vi.name}'`);
  gp.node.forEach((np, i) => {
    const label = nodeLabel(np, i);
    for (const o of np.output) if (o !== '') define(o, `output of ${label}`);
  });
  gp.node.forEach((np, i) => checkNode(np, nodeLabel(np, i), ctx, defined, where));
  if (gp.output.length === 0) ctx.fail(`${where} has no outputs; a model must declare what it computes`);
  const outs = new Set<string>();
  for (const vi of gp.output) {
    if (!vi.name) ctx.fail(`${where}: a graph output has no name`);
    if (outs.has(vi.name)) ctx.fail(`${where}: graph output '${vi.name}' is declared twice`);
    outs.add(vi.name);
    if (!defined.has(vi.name))
      ctx.fail(`${where}: graph output '${vi.name}' is produced by no node and is not an input or initializer`);
    checkValueInfo(vi, ctx, `graph output '${vi.name}'`);
  }
  checkAcyclic(gp, ctx, where);
}

function nodeLabel(np: NodeProto, i: number): string {
  return `node '${np.name || `#${i}`}' (${np.opType || 'no op type'})`;
}

function checkNode(np: NodeProto, label: string, ctx: Ctx, defined: Set<string>, where: string): void {
  if (!np.opType) ctx.fail(`${where}: ${label} has no op_type`);
  if (np.output.length === 0) ctx.fail(`${label} has no outputs`);
  for (const name of np.input) {
    if (name !== '' && !defined.has(name)) {
      ctx.fail(`${label} reads '${name}', which no node produces and which is not a graph input or initializer`);
    }
  }
  checkOpType(np, label, ctx);
  const seen = new Set<string>();
  for (const a of np.attribute) {
    if (!a.name) ctx.fail(`${label} has an attribute without a name`);
    if (seen.has(a.name)) ctx.fail(`${label} has attribute '${a.name}' twice`);
    seen.add(a.name);
    checkAttribute(a, ctx, `${label} attribute '${a.name}'`, defined);
  }
  const domain = np.domain === 'ai.onnx' ? '' : np.domain;
  if (domain === '') {
    const opset = ctx.opsets.get('') ?? 1;
    const problem = checkOpArity(np, opset) ?? checkOpAttributes(np, opset);
    if (problem) ctx.fail(`${label}: ${problem}`);
  }
}

function checkOpType(np: NodeProto, label: string, ctx: Ctx): void {
  const domain = np.domain === 'ai.onnx' ? '' : np.domain;
  const shown = domain || 'ai.onnx';
  if (ctx.functions.has(`${np.domain}:${np.opType}`)) return;
  if (!KNOWN_DOMAINS.has(domain)) {
    ctx.fail(
      `node '${np.name}' (${np.opType}) uses op domain '${np.domain}', which neither onnxruntime nor onnx-distill knows`,
    );
  }
  const table = ONNX_OPS[domain];
  if (!table) return; // com.microsoft: onnxruntime's contrib ops; its loader is the judge (inspect reports it)
  const since = Object.hasOwn(table, np.opType) ? table[np.opType] : undefined;
  if (since === undefined)
    ctx.fail(`${label}: '${np.opType}' is not an operator of domain '${shown}' in any ONNX opset`);
  const opset = ctx.opsets.get(domain);
  if (opset === undefined) ctx.fail(`${label} uses domain '${shown}', which the model's opset_import does not list`);
  if (since > opset)
    ctx.fail(`${label}: ${np.opType} exists from opset ${since} of '${shown}', but the model imports opset ${opset}`);
}

function checkAttribute(a: AttributeProto, ctx: Ctx, label: string, defined: Set<string>): void {
  if (a.refAttrName) return; // a function-body reference, resolved at the call site
  switch (a.type) {
    case AT.UNDEFINED:
      ctx.fail(`${label} has no type`);
    // falls through (fail never returns)
    case AT.TENSOR:
      if (a.t) checkTensor(a.t, ctx, label, true);
      return;
    case AT.TENSORS:
      a.tensors.forEach((t, i) => checkTensor(t, ctx, `${label}[${i}]`, true));
      return;
    case AT.GRAPH:
      if (a.g) checkGraph(a.g, ctx, defined, `subgraph of ${label}`);
      return;
    case AT.GRAPHS:
      a.graphs.forEach((g, i) => checkGraph(g, ctx, defined, `subgraph ${i} of ${label}`));
      return;
    case AT.FLOAT:
    case AT.INT:
    case AT.STRING:
    case AT.FLOATS:
    case AT.INTS:
    case AT.STRINGS:
    case AT.SPARSE_TENSOR:
    case AT.SPARSE_TENSORS:
    case AT.TYPE_PROTO:
    case AT.TYPE_PROTOS:
      return;
    default:
      ctx.fail(`${label} has unknown attribute type ${String(a.type)}`);
  }
}

// The dtype of a tensor the IR will hold, or a UserError naming it.
function tensorDType(code: number, ctx: Ctx, label: string, allowString: boolean): DType {
  if (code === 0) ctx.fail(`${label} has no data type`);
  if (code < 0 || code > LAST_ONNX_DTYPE)
    ctx.fail(`${label} has data type code ${code}, which is not an ONNX element type`);
  if (!MODELLED.has(code))
    ctx.fail(
      `${label} has ONNX element type ${code} (complex, 8-bit float or packed sub-byte), which onnx-distill does not handle`,
    );
  const dtype = dtypeFromCode(code);
  if (dtype === 'string' && !allowString)
    ctx.fail(`${label} is a string tensor; onnx-distill handles numeric tensors only`);
  return dtype;
}

// Dims of a tensor: non-negative, bounded, and an element count computed without overflow.
function checkedNumel(dims: readonly bigint[], ctx: Ctx, label: string): number {
  let n = 1;
  for (const d of dims) {
    if (d < 0n || d > BigInt(MAX_DIM))
      ctx.fail(`${label} has dim ${d} (dims [${dims.join(', ')}]); dims must be 0..${MAX_DIM}`);
    n *= Number(d);
  }
  if (n > Number.MAX_SAFE_INTEGER) ctx.fail(`${label} claims ${dims.join('x')} elements, more than any file can hold`);
  return n;
}

function checkTensor(t: TensorProto, ctx: Ctx, label: string, inAttribute = false): void {
  const dtype = tensorDType(t.dataType, ctx, label, inAttribute);
  const n = checkedNumel(t.dims, ctx, label);
  const need = n * BYTES[dtype];
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    if (inAttribute)
      ctx.fail(`${label} keeps its data in an external file, which onnx-distill reads only for initializers`);
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const odd = t.externalData.find((e) => !EXTERNAL_KEYS.has(e.key));
    if (odd) ctx.fail(`${label}: external data has key '${odd.key}'; ONNX knows location, offset, length and checksum`);
    if (info.size !== t.externalData.length) ctx.fail(`${label}: external data repeats a key`);
    if (!info.get('location')) ctx.fail(`${label} is external but has no location`);
    for (const key of ['offset', 'length']) {
      const v = info.get(key);
      if (v !== undefined && !/^\d{1,15}$/.test(v))
        ctx.fail(`${label}: external data ${key} '${v}' is not a byte count`);
    }
    if (info.has('length') && Number(info.get('length')) !== need) {
      ctx.fail(
        `${label}: external data length ${info.get('length')} does not match its dims ${dtype}[${t.dims.join(', ')}] (${need} bytes)`,
      );
    }
    return;
  }
  const have = rawOrTypedCount(t, dtype);
  if (have.raw) {
    if (have.count !== need)
      ctx.fail(`${label}: raw data has ${have.count} bytes but ${dtype}[${t.dims.join(', ')}] needs ${need}`);
  } else if (have.count !== n && !(have.count === 0 && n === 0)) {
    ctx.fail(`${label}: holds ${have.count} values but dims [${t.dims.join(', ')}] need ${n}`);
  }
}

// How much data a tensor carries: raw bytes, or the element count of the typed field its dtype uses.
function rawOrTypedCount(t: TensorProto, dtype: DType): { raw: boolean; count: number } {
  if (t.rawData.byteLength > 0) return { raw: true, count: t.rawData.byteLength };
  switch (dtype) {
    case 'float32':
      return { raw: false, count: t.floatData.length };
    case 'float64':
      return { raw: false, count: t.doubleData.length };
    case 'int64':
      return { raw: false, count: t.int64Data.length };
    case 'uint64':
    case 'uint32':
      return { raw: false, count: t.uint64Data.length };
    case 'string':
      return { raw: false, count: t.stringData.length };
    default:
      return { raw: false, count: t.int32Data.length };
  }
}

function checkValueInfo(vi: ValueInfoProto, ctx: Ctx, label: string): void {
  const tt = vi.type?.value.case === 'tensorType' ? vi.type.value.value : undefined;
  if (!tt) return;
  if (tt.elemType < 0 || tt.elemType > LAST_ONNX_DTYPE)
    ctx.fail(`${label} has element type code ${tt.elemType}, which is not an ONNX element type`);
  if (tt.elemType === 0 && !label.startsWith('value_info'))
    ctx.fail(`${label} has a tensor type without an element type`);
  if (tt.elemType !== 0 && !MODELLED.has(tt.elemType) && !label.startsWith('value_info')) {
    ctx.fail(
      `${label} has ONNX element type ${tt.elemType} (complex, 8-bit or 4-bit float, or packed sub-byte), which onnx-distill does not handle`,
    );
  }
  for (const d of tt.shape?.dim ?? []) {
    if (d.value.case === 'dimValue' && (d.value.value < 0n || d.value.value > BigInt(MAX_DIM))) {
      ctx.fail(`${label} declares dim ${d.value.value}; dims must be 0..${MAX_DIM} (or named, for dynamic dims)`);
    }
  }
}

// Kahn's algorithm over the names each node reads; what is left over sits on a cycle.
function checkAcyclic(gp: GraphProto, ctx: Ctx, where: string): void {
  const producer = new Map<string, number>();
  gp.node.forEach((np, i) => {
    for (const o of np.output) if (o !== '') producer.set(o, i);
  });
  const indeg = gp.node.map(() => 0);
  const users = gp.node.map(() => [] as number[]);
  gp.node.forEach((np, i) => {
    for (const name of new Set(np.input)) {
      const p = producer.get(name);
      if (p !== undefined) {
        indeg[i]!++;
        users[p]!.push(i);
      }
    }
  });
  const ready = indeg.flatMap((d, i) => (d === 0 ? [i] : []));
  let done = 0;
  while (ready.length) {
    const i = ready.pop()!;
    done++;
    for (const u of users[i]!) if (--indeg[u]! === 0) ready.push(u);
  }
  if (done < gp.node.length) {
    const i = indeg.findIndex((d) => d > 0);
    ctx.fail(`${where} has a cycle through ${nodeLabel(gp.node[i]!, i)}; ONNX graphs must be acyclic`);
  }
}
