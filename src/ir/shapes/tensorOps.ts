import type { Node, ValueType } from '../graph.js';
import { broadcastShapes, constInts, like, normAxis, staticShape, type ShapeRule } from './util.js';

// Reduction axes of a node: opset-18 style input, older attribute, or all axes.
export function reduceAxes(n: Node, rank: number): number[] {
  const fromInput = n.inputs.length > 1 && n.inputs[1] ? constInts(n, 1) : undefined;
  const axes = fromInput ?? (n.hasAttr('axes') ? n.attrInts('axes') : undefined);
  if (!axes || axes.length === 0) {
    return n.attrInt('noop_with_empty_axes', 0) === 1 && axes ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, rank));
}

const reduce: ShapeRule = (n) => {
  const x = staticShape(n, 0);
  if (!x) return [like(n, 0, undefined)];
  const axes = reduceAxes(n, x.length);
  const keep = n.attrInt('keepdims', 1) === 1;
  const shape = keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
  return [like(n, 0, shape)];
};

// Axes of Squeeze/Unsqueeze from input (opset 13+) or attribute.
export function squeezeAxes(n: Node): number[] | undefined {
  return n.inputs[1] ? constInts(n, 1) : n.hasAttr('axes') ? n.attrInts('axes') : undefined;
}

// Slice parameters from inputs (opset 10+) or attributes (opset 1), clamped like onnxruntime.
export function sliceParams(
  n: Node,
  x: number[],
): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } | undefined {
  const starts = n.inputs.length > 1 ? constInts(n, 1) : n.attrInts('starts');
  const ends = n.inputs.length > 2 ? constInts(n, 2) : n.attrInts('ends');
  if (!starts || !ends) return undefined;
  const axesRaw = n.inputs[3] ? constInts(n, 3) : n.hasAttr('axes') ? n.attrInts('axes') : starts.map((_, i) => i);
  const steps = n.inputs[4] ? constInts(n, 4) : starts.map(() => 1);
  if (!axesRaw || !steps) return undefined;
  const axes = axesRaw.map((a) => normAxis(a, x.length));
  const s: number[] = [];
  const e: number[] = [];
  axes.forEach((ax, i) => {
    const dim = x[ax]!;
    const step = steps[i]!;
    let st = starts[i]! < 0 ? starts[i]! + dim : starts[i]!;
    let en = ends[i]! < 0 ? ends[i]! + dim : ends[i]!;
    if (step > 0) {
      st = Math.min(Math.max(st, 0), dim);
      en = Math.min(Math.max(en, 0), dim);
    } else {
      st = Math.min(Math.max(st, -1), dim - 1);
      en = Math.min(Math.max(en, -1), dim - 1);
    }
    s.push(st);
    e.push(en);
  });
  return { starts: s, ends: e, axes, steps };
}

// Shape rules for layout, indexing, matrix and reduction ops.
export const tensorRules: Record<string, ShapeRule> = {
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL2: reduce,
  ReduceL1: reduce,
  ReduceSumSquare: reduce,
  ReduceLogSumExp: reduce,
  ArgMax: (n) => {
    const x = staticShape(n, 0);
    if (!x) return [{ dtype: 'int64' }];
    const ax = normAxis(n.attrInt('axis', 0), x.length);
    const keep = n.attrInt('keepdims', 1) === 1;
    return [{ dtype: 'int64', shape: keep ? x.map((d, i) => (i === ax ? 1 : d)) : x.filter((_, i) => i !== ax) }];
  },
  Gemm: (n) => {
    const a = staticShape(n, 0);
    const b = staticShape(n, 1);
    if (!a || !b) return [like(n, 0, undefined)];
    if (a.length !== 2 || b.length !== 2)
      throw new Error(`${n.label}: Gemm takes matrices, got ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
    const m = n.attrInt('transA', 0) ? a[1]! : a[0]!;
    const k = n.attrInt('transB', 0) ? b[0]! : b[1]!;
    const ka = n.attrInt('transA', 0) ? a[0]! : a[1]!;
    const kb = n.attrInt('transB', 0) ? b[1]! : b[0]!;
    if (ka !== kb)
      throw new Error(
        `${n.label}: inner dims differ (${JSON.stringify(a)} x ${JSON.stringify(b)}, transA ${n.attrInt('transA', 0)}, transB ${n.attrInt('transB', 0)})`,
      );
    return [like(n, 0, [m, k])];
  },
  MatMul: (n) => {
    const a = staticShape(n, 0);
    const b = staticShape(n, 1);
    if (!a || !b) return [like(n, 0, undefined)];
    const a2 = a.length === 1 ? [1, a[0]!] : a;
    const b2 = b.length === 1 ? [b[0]!, 1] : b;
    if (a.length === 0 || b.length === 0 || a2[a2.length - 1] !== b2[b2.length - 2]) {
      throw new Error(`${n.label}: inner dims differ (${JSON.stringify(a)} x ${JSON.stringify(b)})`);
    }
    const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2), n);
    const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
    if (a.length === 1) out.splice(out.length - 2, 1);
    if (b.length === 1) out.splice(out.length - 1, 1);
    return [like(n, 0, out)];
  },
  Flatten: (n) => {
    const x = staticShape(n, 0);
    if (!x) return [like(n, 0, undefined)];
    const ax = normAxis(n.attrInt('axis', 1), x.length);
    return [like(n, 0, [x.slice(0, ax).reduce((p, d) => p * d, 1), x.slice(ax).reduce((p, d) => p * d, 1)])];
  },
  Reshape: (n) => {
    const x = staticShape(n, 0);
    const target = constInts(n, 1);
    if (!x || !target) return [like(n, 0, undefined)];
    const allowZero = n.attrInt('allowzero', 0) === 1;
    const out = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
    const total = x.reduce((p, d) => p * d, 1);
    const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const shape = out.map((d) => (d === -1 ? total / known : d));
    if (shape.reduce((p, d) => p * d, 1) !== total || shape.some((d) => !Number.isInteger(d))) {
      throw new Error(`${n.label}: cannot reshape ${JSON.stringify(x)} to ${JSON.stringify(target)}`);
    }
    return [like(n, 0, shape)];
  },
  Transpose: (n) => {
    const x = staticShape(n, 0);
    if (!x) return [like(n, 0, undefined)];
    const perm = n.attrInts(
      'perm',
      x.map((_, i) => x.length - 1 - i),
    );
    return [
      like(
        n,
        0,
        perm.map((p) => x[p]!),
      ),
    ];
  },
  Concat: (n) => {
    const shapes = n.inputs.map((_, i) => staticShape(n, i));
    if (shapes.some((s) => !s)) return [like(n, 0, undefined)];
    const ax = normAxis(n.attrInt('axis'), shapes[0]!.length);
    const out = [...shapes[0]!];
    out[ax] = shapes.reduce((s, sh) => s + sh![ax]!, 0);
    return [like(n, 0, out)];
  },
  Split: (n) => {
    const x = staticShape(n, 0);
    if (!x) return n.outputs.map(() => like(n, 0, undefined));
    const ax = normAxis(n.attrInt('axis', 0), x.length);
    const k = n.outputs.length;
    const split =
      (n.inputs[1] ? constInts(n, 1) : n.hasAttr('split') ? n.attrInts('split') : undefined) ??
      Array.from(
        { length: k },
        (_, i) => Math.ceil(x[ax]! / k) - (i === k - 1 ? Math.ceil(x[ax]! / k) * k - x[ax]! : 0),
      );
    return split.map((s) =>
      like(
        n,
        0,
        x.map((d, i) => (i === ax ? s : d)),
      ),
    );
  },
  Slice: (n) => {
    const x = staticShape(n, 0);
    const p = x && sliceParams(n, x);
    if (!x || !p) return [like(n, 0, undefined)];
    const out = [...x];
    p.axes.forEach((ax, i) => {
      const st = p.steps[i]!;
      out[ax] = Math.max(0, Math.ceil((p.ends[i]! - p.starts[i]!) / st));
    });
    return [like(n, 0, out)];
  },
  Pad: (n) => {
    const x = staticShape(n, 0);
    const pads = n.inputs[1] ? constInts(n, 1) : n.attrInts('pads', []);
    if (!x || !pads) return [like(n, 0, undefined)];
    const axes = n.inputs[3] ? constInts(n, 3)!.map((a) => normAxis(a, x.length)) : x.map((_, i) => i);
    const out = [...x];
    axes.forEach((ax, i) => {
      out[ax] = x[ax]! + pads[i]! + pads[i + axes.length]!;
    });
    return [like(n, 0, out)];
  },
  Squeeze: (n) => {
    const x = staticShape(n, 0);
    if (!x) return [like(n, 0, undefined)];
    const axes = squeezeAxes(n)?.map((a) => normAxis(a, x.length));
    return [
      like(
        n,
        0,
        x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)),
      ),
    ];
  },
  Unsqueeze: (n) => {
    const x = staticShape(n, 0);
    const axes = squeezeAxes(n);
    if (!x || !axes) return [like(n, 0, undefined)];
    const rank = x.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
    const out = [...x];
    for (const a of norm) out.splice(a, 0, 1);
    return [like(n, 0, out)];
  },
  Shape: (n) => {
    const x = n.inputs[0]?.type?.shape;
    const start = n.attrInt('start', 0);
    const end = n.attrInt('end', x?.length ?? 0);
    const len = x ? x.slice(start, n.hasAttr('end') ? end : undefined).length : undefined;
    return [{ dtype: 'int64', ...(len !== undefined ? { shape: [len] } : {}) }];
  },
  Size: () => [{ dtype: 'int64', shape: [] }],
  Gather: (n) => {
    const x = staticShape(n, 0);
    const idx = staticShape(n, 1);
    if (!x || !idx) return [like(n, 0, undefined)];
    const ax = normAxis(n.attrInt('axis', 0), x.length);
    return [like(n, 0, [...x.slice(0, ax), ...idx, ...x.slice(ax + 1)])];
  },
  GatherElements: (n) => [like(n, 0, staticShape(n, 1))],
  ScatterElements: (n) => [like(n, 0, staticShape(n, 0))],
  Constant: (n) => {
    const a = n.attributes.get('value');
    if (a?.kind === 'tensor') return [{ dtype: a.value.dtype, shape: [...a.value.dims] }];
    if (n.hasAttr('value_float')) return [{ dtype: 'float32', shape: [] }];
    if (n.hasAttr('value_int')) return [{ dtype: 'int64', shape: [] }];
    if (n.hasAttr('value_ints')) return [{ dtype: 'int64', shape: [n.attrInts('value_ints').length] }];
    if (n.hasAttr('value_floats')) return [{ dtype: 'float32', shape: [n.attrInts('value_floats').length] }];
    return [undefined];
  },
  ConstantOfShape: (n) => {
    const shape = constInts(n, 0);
    const a = n.attributes.get('value');
    const dtype: ValueType['dtype'] = a?.kind === 'tensor' ? a.value.dtype : 'float32';
    return [{ dtype, ...(shape ? { shape } : {}) }];
  },
  ScatterND: (n) => [like(n, 0, staticShape(n, 0))],
  Expand: (n) => {
    const x = staticShape(n, 0);
    const s = constInts(n, 1);
    return [like(n, 0, x && s ? broadcastShapes(x, s, n) : undefined)];
  },
  Tile: (n) => {
    const x = staticShape(n, 0);
    const r = constInts(n, 1);
    return [like(n, 0, x && r ? x.map((d, i) => d * r[i]!) : undefined)];
  },
  Range: (n) => {
    const [s, l, d] = [0, 1, 2].map((i) => n.inputs[i]?.constant?.toNumbers()[0]);
    const len = s !== undefined && l !== undefined && d !== undefined ? Math.max(Math.ceil((l - s) / d), 0) : undefined;
    return [like(n, 0, len !== undefined ? [len] : undefined)];
  },
  OneHot: (n) => {
    const idx = staticShape(n, 0);
    const depth = n.inputs[1]?.constant?.toNumbers()[0];
    if (!idx || depth === undefined) return [like(n, 2, undefined)];
    const ax = n.attrInt('axis', -1);
    const out = [...idx];
    out.splice(ax < 0 ? ax + idx.length + 1 : ax, 0, depth);
    return [like(n, 2, out)];
  },
  Resize: (n) => {
    const x = staticShape(n, 0);
    if (!x) return [like(n, 0, undefined)];
    // Opset 18: scales/sizes may cover only the `axes` attribute's axes; sizes may keep the aspect ratio.
    const axes = n.hasAttr('axes') ? n.attrInts('axes').map((a) => normAxis(a, x.length)) : x.map((_, i) => i);
    const out = [...x];
    const sizes = n.inputs[3] ? constInts(n, 3) : undefined;
    if (sizes && sizes.length) {
      const policy = n.attrString('keep_aspect_ratio_policy', 'stretch');
      const ratios = axes.map((a, j) => sizes[j]! / x[a]!);
      const common =
        policy === 'not_larger' ? Math.min(...ratios) : policy === 'not_smaller' ? Math.max(...ratios) : undefined;
      axes.forEach((a, j) => {
        out[a] = common === undefined ? sizes[j]! : Math.round(common * x[a]!);
      });
      return [like(n, 0, out)];
    }
    const scales = n.inputs[2]?.constant?.toNumbers();
    if (scales && scales.length) {
      axes.forEach((a, j) => {
        out[a] = Math.floor(x[a]! * scales[j]!);
      });
      return [like(n, 0, out)];
    }
    return [like(n, 0, undefined)];
  },
  Upsample: (n) => {
    const x = staticShape(n, 0);
    const scales = n.inputs[1]?.constant?.toNumbers();
    return [like(n, 0, x && scales ? x.map((d, i) => Math.floor(d * scales[i]!)) : undefined)];
  },
};
