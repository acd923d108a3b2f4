import type { AttributeProto, NodeProto } from '../onnx/onnx_pb.js';
import type { DType } from './dtype.js';
import type { Tensor } from './tensor.js';

// A static or partly symbolic shape: numbers are known dims, strings are named dynamic dims.
export type Dim = number | string;
export type Shape = Dim[];

// The type of a value: element type and (possibly unknown) shape.
export interface ValueType {
  dtype: DType;
  shape?: Shape;
}

// A use of a value: which node consumes it and at which input slot.
export interface Use {
  node: Node;
  index: number;
}

// A tensor flowing through the graph; knows its producer and every use (what reverse-mode needs).
export class Value {
  producer: Node | undefined;
  readonly uses: Use[] = [];
  // Set for initializers and folded constants.
  constant: Tensor | undefined;
  docString = '';

  constructor(
    public name: string,
    public type: ValueType | undefined,
  ) {}

  get dtype(): DType {
    if (!this.type) throw new Error(`value '${this.name}' has no known type`);
    return this.type.dtype;
  }

  // Fully static shape, or an error naming the value.
  get shape(): number[] {
    const s = this.type?.shape;
    if (!s || s.some((d) => typeof d !== 'number')) {
      throw new Error(
        `value '${this.name}' has no static shape (${s ? JSON.stringify(s) : 'unknown'}); run shape inference with a fixed input shape`,
      );
    }
    return s as number[];
  }

  get rank(): number {
    return this.shape.length;
  }

  hasStaticShape(): boolean {
    const s = this.type?.shape;
    return !!s && s.every((d) => typeof d === 'number');
  }
}

// Attribute values as the IR reads them; `proto` keeps the original for exact round-trips.
export type Attribute =
  | { kind: 'float'; value: number; proto?: AttributeProto }
  | { kind: 'int'; value: number; proto?: AttributeProto }
  | { kind: 'string'; value: string; proto?: AttributeProto }
  | { kind: 'floats'; value: number[]; proto?: AttributeProto }
  | { kind: 'ints'; value: number[]; proto?: AttributeProto }
  | { kind: 'strings'; value: string[]; proto?: AttributeProto }
  | { kind: 'tensor'; value: Tensor; proto?: AttributeProto }
  | { kind: 'other'; proto: AttributeProto };

// One operator application. Inputs may be missing (optional inputs), outputs are owned.
export class Node {
  readonly inputs: (Value | undefined)[] = [];
  readonly outputs: Value[] = [];
  readonly attributes = new Map<string, Attribute>();
  // Original proto for fields the IR does not interpret (doc_string, unknown fields).
  proto: NodeProto | undefined;

  constructor(
    public opType: string,
    public name: string,
    public domain = '',
  ) {}

  attrInt(name: string, fallback?: number): number {
    const a = this.attributes.get(name);
    if (a && (a.kind === 'int' || a.kind === 'float')) return a.value;
    if (fallback === undefined) throw new Error(`node '${this.name}' (${this.opType}) lacks attribute '${name}'`);
    return fallback;
  }

  attrFloat(name: string, fallback?: number): number {
    return this.attrInt(name, fallback);
  }

  attrInts(name: string, fallback?: number[]): number[] {
    const a = this.attributes.get(name);
    if (a && (a.kind === 'ints' || a.kind === 'floats')) return a.value;
    if (fallback === undefined) throw new Error(`node '${this.name}' (${this.opType}) lacks attribute '${name}'`);
    return fallback;
  }

  attrString(name: string, fallback?: string): string {
    const a = this.attributes.get(name);
    if (a && a.kind === 'string') return a.value;
    if (fallback === undefined) throw new Error(`node '${this.name}' (${this.opType}) lacks attribute '${name}'`);
    return fallback;
  }

  hasAttr(name: string): boolean {
    return this.attributes.has(name);
  }

  // Input i, or an error naming the node when it is absent.
  input(i: number): Value {
    const v = this.inputs[i];
    if (!v) throw new Error(`node '${this.name}' (${this.opType}) has no input ${i}`);
    return v;
  }

  get label(): string {
    return `${this.opType} node '${this.name}'`;
  }
}

// A graph: ordered nodes, graph inputs/outputs, initializers; values keyed by unique name.
export class Graph {
  nodes: Node[] = [];
  inputs: Value[] = [];
  outputs: Value[] = [];
  // Initializers (constant values with a name) in file order.
  initializers: Value[] = [];
  readonly values = new Map<string, Value>();
  docString = '';
  private counters = new Map<string, number>();

  constructor(public name = 'graph') {}

  // A name not used yet by any value or node in this graph.
  uniqueName(base: string): string {
    const stem = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let n = this.counters.get(stem) ?? 0;
    let name = n === 0 && !this.values.has(stem) ? stem : `${stem}_${n}`;
    while (this.values.has(name)) name = `${stem}_${++n}`;
    this.counters.set(stem, n + 1);
    return name;
  }

  // Get or create the value of a given name.
  value(name: string, type?: ValueType): Value {
    let v = this.values.get(name);
    if (!v) {
      v = new Value(name, type);
      this.values.set(name, v);
    } else if (type && !v.type) v.type = type;
    return v;
  }

  // Create a value under a fresh unique name.
  newValue(base: string, type?: ValueType): Value {
    const v = new Value(this.uniqueName(base), type);
    this.values.set(v.name, v);
    return v;
  }

  // Register a named constant tensor as an initializer.
  addInitializer(name: string, t: Tensor): Value {
    const v = this.value(name, { dtype: t.dtype, shape: [...t.dims] });
    v.constant = t;
    v.type = { dtype: t.dtype, shape: [...t.dims] };
    if (!this.initializers.includes(v)) this.initializers.push(v);
    return v;
  }

  // Append a node, wiring producer/use links.
  addNode(node: Node, inputs: (Value | undefined)[], outputs: Value[]): Node {
    node.inputs.length = 0;
    node.outputs.length = 0;
    inputs.forEach((v, i) => {
      node.inputs.push(v);
      v?.uses.push({ node, index: i });
    });
    for (const o of outputs) {
      if (o.producer && o.producer !== node)
        throw new Error(`value '${o.name}' already produced by ${o.producer.label}`);
      o.producer = node;
      node.outputs.push(o);
    }
    this.nodes.push(node);
    return node;
  }

  // Remove a node and its use links (its outputs lose their producer).
  removeNode(node: Node): void {
    node.inputs.forEach((v, i) => {
      if (!v) return;
      const k = v.uses.findIndex((u) => u.node === node && u.index === i);
      if (k >= 0) v.uses.splice(k, 1);
    });
    for (const o of node.outputs) if (o.producer === node) o.producer = undefined;
    const k = this.nodes.indexOf(node);
    if (k >= 0) this.nodes.splice(k, 1);
  }

  // Point input slot i of a node at another value.
  setInput(node: Node, i: number, v: Value | undefined): void {
    const old = node.inputs[i];
    if (old) {
      const k = old.uses.findIndex((u) => u.node === node && u.index === i);
      if (k >= 0) old.uses.splice(k, 1);
    }
    node.inputs[i] = v;
    v?.uses.push({ node, index: i });
  }

  // Redirect every use of `from` (and graph outputs) to `to`.
  replaceAllUses(from: Value, to: Value): void {
    for (const u of [...from.uses]) this.setInput(u.node, u.index, to);
    this.outputs = this.outputs.map((o) => (o === from ? to : o));
  }

  // Drop values no longer referenced by anything.
  pruneValues(): void {
    const keep = new Set<Value>([...this.inputs, ...this.outputs, ...this.initializers]);
    for (const n of this.nodes) {
      for (const v of n.inputs) if (v) keep.add(v);
      for (const v of n.outputs) keep.add(v);
    }
    for (const [name, v] of this.values) if (!keep.has(v)) this.values.delete(name);
  }
}
