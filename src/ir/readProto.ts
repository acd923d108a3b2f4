import {
  AttributeProto_AttributeType as AT,
  type AttributeProto,
  type GraphProto,
  type ValueInfoProto,
} from '../onnx/onnx_pb.js';
import { dtypeFromCode, ONNX_CODE } from './dtype.js';
import { Graph, Node, type Attribute, type Shape, type ValueType } from './graph.js';
import type { TensorSource } from './externalData.js';
import { tensorFromProto } from './tensorProto.js';

// GraphProto -> IR Graph: values, types, attributes and nodes; what the IR does not model is kept for the save.

// Element types the IR models (others leave a value untyped or an attribute opaque).
export const MODELLED_CODES = new Set<number>(Object.values(ONNX_CODE));

// A value's element type and shape (dynamic dims by name, or `?value:i` when unnamed).
export function typeFromProto(vi: ValueInfoProto): ValueType | undefined {
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

// Build the IR graph of a GraphProto, its external initializers read from `ext`.
export function graphFromProto(gp: GraphProto, ext: TensorSource): Graph {
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

// The GraphProto a graph was read from, so a save keeps what the IR does not model.
export function originalGraphProto(g: Graph): GraphProto | undefined {
  return keepRest.get(g);
}
