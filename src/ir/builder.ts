import type { DType } from './dtype.js';
import { Graph, Node, Value, type Attribute } from './graph.js';
import { foldNode } from './passes/fold.js';
import { SHAPE_RULES } from './shapes/index.js';
import { Tensor } from './tensor.js';

// Marks a number attribute as float when it happens to be integral (e.g. alpha = 1).
export class FloatAttr {
  constructor(readonly value: number) {}
}

// Attribute values as the builder accepts them.
export type AttrInit = number | FloatAttr | string | number[] | string[] | Tensor | FloatAttr[];
export type Attrs = Record<string, AttrInit | undefined>;

// What an input slot accepts: a value, a constant to promote, or nothing (optional input).
export type Input = Value | number | number[] | Tensor | undefined;

// Attributes ONNX declares as floats; plain numbers under these names are written as floats.
const FLOAT_ATTRS = new Set([
  'alpha',
  'beta',
  'epsilon',
  'momentum',
  'gamma',
  'bias',
  'lambd',
  'ratio',
  'min',
  'max',
  'scale',
  'value_float',
  'extrapolation_value',
  'cubic_coeff_a',
  'seed',
  'spatial_scale',
  'value_floats',
  'scales',
]);

function toAttribute(name: string, v: AttrInit): Attribute {
  if (v instanceof FloatAttr) return { kind: 'float', value: v.value };
  if (v instanceof Tensor) return { kind: 'tensor', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'number')
    return FLOAT_ATTRS.has(name) || !Number.isInteger(v) ? { kind: 'float', value: v } : { kind: 'int', value: v };
  if (v.length > 0 && typeof v[0] === 'string') return { kind: 'strings', value: v as string[] };
  const nums = (v as (number | FloatAttr)[]).map((x) => (x instanceof FloatAttr ? x.value : x));
  const float =
    FLOAT_ATTRS.has(name) ||
    (v as unknown[]).some((x) => x instanceof FloatAttr) ||
    nums.some((x) => !Number.isInteger(x));
  return float ? { kind: 'floats', value: nums } : { kind: 'ints', value: nums };
}

// Op calls by name: `b.op.Relu([x])`, `b.op.Conv([x, w], { strides: [2, 2] })`.
export type OpCalls = Record<string, (inputs: Input[], attrs?: Attrs) => Value>;

// Builds nodes into a graph with unique names, constant promotion and immediate shape inference.
export class Builder {
  readonly op: OpCalls;
  private constCache: Map<string, Value>;

  constructor(
    readonly graph: Graph,
    readonly scope = '',
    constCache?: Map<string, Value>,
  ) {
    this.constCache = constCache ?? new Map();
    this.op = new Proxy({} as OpCalls, {
      get: (_t, opType: string) => (inputs: Input[], attrs?: Attrs) => this.node(opType, inputs, attrs)[0]!,
    });
  }

  // A builder whose node and value names start with `scope/`.
  scoped(scope: string): Builder {
    return new Builder(this.graph, this.scope ? `${this.scope}/${scope}` : scope, this.constCache);
  }

  // Add a node; returns its outputs. Inputs that are numbers/arrays become constants of the dtype of the first value input.
  node(
    opType: string,
    inputs: Input[],
    attrs: Attrs = {},
    opts: { outputs?: number; name?: string; domain?: string; outputNames?: string[] } = {},
  ): Value[] {
    const g = this.graph;
    const like = inputs.find((i): i is Value => i instanceof Value);
    const dtype: DType = like?.type?.dtype ?? 'float32';
    const ins = inputs.map((i) => (i === undefined || i instanceof Value ? i : this.constant(i, dtype)));
    const name = g.uniqueName(`${this.scope ? this.scope + '/' : ''}${opts.name ?? opType}`);
    const node = new Node(opType, name, opts.domain ?? '');
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.attributes.set(k, toAttribute(k, v));
    const count = opts.outputNames?.length ?? opts.outputs ?? 1;
    const outs = Array.from({ length: count }, (_, i) =>
      opts.outputNames?.[i] ? g.value(opts.outputNames[i]!) : g.newValue(`${name}_out${i}`),
    );
    g.addNode(node, ins, outs);
    this.infer(node);
    return outs;
  }

  // Promote a number, array or Tensor to a shared constant initializer.
  constant(v: number | number[] | Tensor, dtype: DType = 'float32'): Value {
    const t = v instanceof Tensor ? v : makeTensor(v, dtype);
    const small = t.size <= 16;
    const key = small ? `${t.dtype}|${t.dims.join(',')}|${t.toNumbers().join(',')}` : '';
    if (small && this.constCache.has(key)) return this.constCache.get(key)!;
    const val = this.graph.addInitializer(
      this.graph.uniqueName(small ? `const_${t.dtype}` : `${this.scope || 'const'}/tensor`),
      t,
    );
    if (small) this.constCache.set(key, val);
    return val;
  }

  // Run shape inference and constant folding on one freshly added node.
  infer(node: Node): void {
    const rule = node.domain === '' ? SHAPE_RULES[node.opType] : undefined;
    if (rule) {
      const types = rule(node);
      node.outputs.forEach((o, i) => {
        if (types[i]) o.type = types[i];
      });
    }
    const folded = foldNode(node);
    if (folded)
      node.outputs.forEach((o, i) => {
        o.constant = folded[i];
      });
  }

  // Shorthands for the ops the compiler emits most.
  add(a: Input, b: Input): Value {
    return this.op.Add!([a, b]);
  }
  sub(a: Input, b: Input): Value {
    return this.op.Sub!([a, b]);
  }
  mul(a: Input, b: Input): Value {
    return this.op.Mul!([a, b]);
  }
  div(a: Input, b: Input): Value {
    return this.op.Div!([a, b]);
  }
  neg(a: Value): Value {
    return this.op.Neg!([a]);
  }
  matmul(a: Value, b: Value): Value {
    return this.op.MatMul!([a, b]);
  }
  reshape(x: Value, shape: number[]): Value {
    return this.op.Reshape!([x, Tensor.int64([shape.length], shape)]);
  }
  transpose(x: Value, perm: number[]): Value {
    return this.op.Transpose!([x], { perm });
  }
  reduceSum(x: Value, axes: number[], keepdims = true): Value {
    if (axes.length === 0) return x;
    return this.op.ReduceSum!([x, Tensor.int64([axes.length], axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(x: Value, axes: number[], keepdims = true): Value {
    return this.op.ReduceMean!([x, Tensor.int64([axes.length], axes)], { keepdims: keepdims ? 1 : 0 });
  }
  identity(x: Value, name?: string): Value {
    return this.node('Identity', [x], {}, name ? { outputNames: [name] } : {})[0]!;
  }
}

function makeTensor(v: number | number[], dtype: DType): Tensor {
  const vals = typeof v === 'number' ? [v] : v;
  const dims = typeof v === 'number' ? [] : [v.length];
  if (dtype === 'int64') return Tensor.int64(dims, vals);
  if (dtype === 'float32') return Tensor.float32(dims, vals);
  const t = Tensor.scalar(0, dtype);
  const data = new (t.data.constructor as new (n: number) => typeof t.data)(vals.length) as unknown as (
    number | bigint
  )[];
  vals.forEach((x, i) => {
    data[i] = dtype === 'uint64' ? BigInt(x) : x;
  });
  return new Tensor(dtype, dims, data as unknown as Float32Array);
}

// Create a builder over a fresh graph with typed inputs.
export function newGraph(name: string): { graph: Graph; b: Builder } {
  const graph = new Graph(name);
  return { graph, b: new Builder(graph) };
}

// Declare a graph input.
export function addInput(g: Graph, name: string, dtype: DType, shape: (number | string)[]): Value {
  const v = g.value(name, { dtype, shape });
  g.inputs.push(v);
  return v;
}
