import { arrayCtor, type DType } from '../dtype.js';
import { dtypeFromCode } from '../dtype.js';
import type { Node } from '../graph.js';
import { reduceAxes, sliceParams, squeezeAxes } from '../shapes/tensorOps.js';
import { broadcastShapes, normAxis } from '../shapes/util.js';
import { numel, Tensor } from '../tensor.js';

// Folding evaluates shape arithmetic only; big tensors are left to onnxruntime.
const MAX_FOLD = 4096;

type Arr = { dims: number[]; v: number[]; dtype: DType };

function arr(t: Tensor): Arr {
  return { dims: [...t.dims], v: t.toNumbers(), dtype: t.dtype };
}

function toTensor(a: Arr): Tensor {
  const data = new (arrayCtor(a.dtype))(a.v.length) as unknown as (number | bigint)[];
  const big = a.dtype === 'int64' || a.dtype === 'uint64';
  const int = big || a.dtype.startsWith('int') || a.dtype.startsWith('uint') || a.dtype === 'bool';
  a.v.forEach((x, i) => {
    data[i] = big ? BigInt(Math.trunc(x)) : int ? Math.trunc(x) : x;
  });
  return new Tensor(a.dtype, a.dims, data as unknown as Float32Array);
}

function strides(dims: number[]): number[] {
  const s = Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

// Visit every multi-index of a shape in row-major order.
function forEachIndex(dims: number[], f: (idx: number[], flat: number) => void): void {
  const n = numel(dims);
  const idx = Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
}

function broadcastBinary(a: Arr, b: Arr, f: (x: number, y: number) => number, dtype = a.dtype): Arr {
  const dims = broadcastShapes(a.dims, b.dims);
  const sa = strides(a.dims),
    sb = strides(b.dims);
  const v: number[] = [];
  forEachIndex(dims, (idx) => {
    let ia = 0,
      ib = 0;
    idx.forEach((x, d) => {
      const da = d - (dims.length - a.dims.length),
        db = d - (dims.length - b.dims.length);
      if (da >= 0 && a.dims[da]! > 1) ia += x * sa[da]!;
      if (db >= 0 && b.dims[db]! > 1) ib += x * sb[db]!;
    });
    v.push(f(a.v[ia]!, b.v[ib]!));
  });
  return { dims, v, dtype };
}

const isIntType = (d: DType) => d !== 'float32' && d !== 'float64' && d !== 'float16';

type Evaluator = (n: Node, ins: (Arr | undefined)[]) => Arr[] | undefined;

const binary =
  (f: (x: number, y: number) => number, cmp = false): Evaluator =>
  (_n, [a, b]) =>
    a && b ? [broadcastBinary(a, b, f, cmp ? 'bool' : a.dtype)] : undefined;

const EVAL: Record<string, Evaluator> = {
  Identity: (_n, [a]) => (a ? [a] : undefined),
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: (n, [a, b]) =>
    a && b ? [broadcastBinary(a, b, isIntType(a.dtype) ? (x, y) => Math.trunc(x / y) : (x, y) => x / y)] : undefined,
  // Integer tensors only (pads and shapes being re-laid out, as in Swin's window padding); weights stay for onnxruntime.
  Transpose: (n, [a]) => {
    if (!a || !isIntType(a.dtype)) return undefined;
    const perm = n.attrInts(
      'perm',
      a.dims.map((_, i) => a.dims.length - 1 - i),
    );
    const dims = perm.map((p) => a.dims[p]!);
    const sa = strides(a.dims);
    const v: number[] = [];
    forEachIndex(dims, (idx) => {
      v.push(a.v[idx.reduce((s, x, d) => s + x * sa[perm[d]!]!, 0)]!);
    });
    return [{ dims, v, dtype: a.dtype }];
  },
  // fmod=0: the remainder takes the divisor's sign (Python's %, what torch exports for Swin's window padding); 1: C's fmod.
  Mod: (n, [a, b]) =>
    a && b
      ? [broadcastBinary(a, b, n.attrInt('fmod', 0) === 1 ? (x, y) => x % y : (x, y) => ((x % y) + y) % y)]
      : undefined,
  Equal: binary((x, y) => (x === y ? 1 : 0), true),
  Less: binary((x, y) => (x < y ? 1 : 0), true),
  Greater: binary((x, y) => (x > y ? 1 : 0), true),
  Max: binary(Math.max),
  Min: binary(Math.min),
  Neg: (_n, [a]) => (a ? [{ ...a, v: a.v.map((x) => -x) }] : undefined),
  Floor: (_n, [a]) => (a ? [{ ...a, v: a.v.map(Math.floor) }] : undefined),
  Ceil: (_n, [a]) => (a ? [{ ...a, v: a.v.map(Math.ceil) }] : undefined),
  Sqrt: (_n, [a]) => (a ? [{ ...a, v: a.v.map(Math.sqrt) }] : undefined),
  Where: (_n, [c, a, b]) => {
    if (!c || !a || !b) return undefined;
    const ab = broadcastBinary(a, b, (x) => x);
    const ba = broadcastBinary(b, a, (x) => x);
    const cc = broadcastBinary(c, ab, (x) => x);
    return [
      { dims: cc.dims, dtype: a.dtype, v: cc.v.map((x, i) => (x ? ab.v[i % ab.v.length]! : ba.v[i % ba.v.length]!)) },
    ];
  },
  Cast: (n, [a]) => (a ? [{ ...a, dtype: castType(n.attrInt('to')) }] : undefined),
  Reshape: (n, [a]) => (a ? [{ ...a, dims: n.outputs[0]!.shape }] : undefined),
  Squeeze: (n, [a]) => (a ? [{ ...a, dims: n.outputs[0]!.shape }] : undefined),
  Unsqueeze: (n, [a]) => (a && squeezeAxes(n) ? [{ ...a, dims: n.outputs[0]!.shape }] : undefined),
  Flatten: (n, [a]) => (a ? [{ ...a, dims: n.outputs[0]!.shape }] : undefined),
  Concat: (n, ins) => {
    if (ins.some((a) => !a)) return undefined;
    const arrs = ins as Arr[];
    const ax = normAxis(n.attrInt('axis'), arrs[0]!.dims.length);
    const dims = n.outputs[0]!.shape;
    const outer = dims.slice(0, ax).reduce((p, d) => p * d, 1);
    const v: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const a of arrs) {
        const inner = a.dims.slice(ax).reduce((p, d) => p * d, 1);
        v.push(...a.v.slice(o * inner, (o + 1) * inner));
      }
    }
    return [{ dims, v, dtype: arrs[0]!.dtype }];
  },
  Gather: (n, [a, idx]) => {
    if (!a || !idx) return undefined;
    const ax = normAxis(n.attrInt('axis', 0), a.dims.length);
    const dims = n.outputs[0]!.shape;
    const sa = strides(a.dims);
    const v: number[] = [];
    forEachIndex(dims, (o) => {
      const pre = o.slice(0, ax),
        mid = o.slice(ax, ax + idx.dims.length),
        post = o.slice(ax + idx.dims.length);
      let k = idx.v[mid.reduce((s, x, i) => s + x * strides(idx.dims)[i]!, 0)]!;
      if (k < 0) k += a.dims[ax]!;
      const src = [...pre, k, ...post];
      v.push(a.v[src.reduce((s, x, i) => s + x * sa[i]!, 0)]!);
    });
    return [{ dims, v, dtype: a.dtype }];
  },
  Slice: (n, [a]) => {
    if (!a) return undefined;
    const p = sliceParams(n, a.dims);
    if (!p) return undefined;
    const dims = n.outputs[0]!.shape;
    const sa = strides(a.dims);
    const v: number[] = [];
    forEachIndex(dims, (o) => {
      const src = o.map((x, d) => {
        const k = p.axes.indexOf(d);
        return k < 0 ? x : p.starts[k]! + x * p.steps[k]!;
      });
      v.push(a.v[src.reduce((s, x, i) => s + x * sa[i]!, 0)]!);
    });
    return [{ dims, v, dtype: a.dtype }];
  },
  ConstantOfShape: (n, [s]) => {
    if (!s) return undefined;
    const a = n.attributes.get('value');
    const fill = a?.kind === 'tensor' ? arr(a.value) : { v: [0], dtype: 'float32' as DType, dims: [1] };
    const dims = s.v;
    return [{ dims, v: Array(numel(dims)).fill(fill.v[0]), dtype: fill.dtype }];
  },
  Range: (_n, [s, l, d]) => {
    if (!s || !l || !d) return undefined;
    const v: number[] = [];
    for (let x = s.v[0]!; d.v[0]! > 0 ? x < l.v[0]! : x > l.v[0]!; x += d.v[0]!) v.push(x);
    return [{ dims: [v.length], v, dtype: s.dtype }];
  },
  ReduceProd: (n, [a]) => {
    if (!a) return undefined;
    const axes = reduceAxes(n, a.dims.length);
    if (axes.length !== a.dims.length) return undefined;
    return [{ dims: n.outputs[0]!.shape, v: [a.v.reduce((p, x) => p * x, 1)], dtype: a.dtype }];
  },
};

function castType(code: number): DType {
  return dtypeFromCode(code);
}

// Evaluate a node whose inputs are all small constants; returns output tensors or undefined.
export function foldNode(n: Node): Tensor[] | undefined {
  if (n.domain !== '') return undefined;
  if (n.opType === 'Constant') {
    const a = n.attributes.get('value');
    if (a?.kind === 'tensor') return [a.value];
    if (n.hasAttr('value_float')) return [Tensor.scalar(n.attrFloat('value_float'))];
    if (n.hasAttr('value_int')) return [Tensor.scalar(n.attrInt('value_int'), 'int64')];
    if (n.hasAttr('value_ints')) {
      const v = n.attrInts('value_ints');
      return [Tensor.int64([v.length], v)];
    }
    if (n.hasAttr('value_floats')) {
      const v = n.attrInts('value_floats');
      return [Tensor.float32([v.length], v)];
    }
    return undefined;
  }
  if (n.opType === 'Shape') {
    const x = n.inputs[0];
    if (!x?.hasStaticShape()) return undefined;
    const start = n.attrInt('start', 0);
    const s = x.shape.slice(start, n.hasAttr('end') ? n.attrInt('end') : undefined);
    return [Tensor.int64([s.length], s)];
  }
  if (n.opType === 'Size') {
    const x = n.inputs[0];
    return x?.hasStaticShape() ? [Tensor.scalar(numel(x.shape), 'int64')] : undefined;
  }
  const ev = EVAL[n.opType];
  if (!ev) return undefined;
  const ins = n.inputs.map((v) =>
    v?.constant && v.constant.size <= MAX_FOLD && v.dtype !== 'float16' ? arr(v.constant) : undefined,
  );
  if (n.inputs.some((v, i) => v && !ins[i])) return undefined;
  if (n.outputs.some((o) => !o.hasStaticShape() || numel(o.shape) > MAX_FOLD)) return undefined;
  const out = ev(n, ins);
  return out?.map(toTensor);
}
