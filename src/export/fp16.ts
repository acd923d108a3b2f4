import { ONNX_CODE } from '../ir/dtype.js';
import { Node, type Graph, type Value } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { topoSort } from '../ir/passes/toposort.js';
import { Tensor } from '../ir/tensor.js';
import { halfArray } from '../ir/half.js';

// Element type of the graph's inputs and outputs after conversion (`--io`).
export type IoType = 'fp32' | 'fp16';

// Ops whose float16 results drift or overflow (exponentials, reductions, normalisers, sums of squares): they run in
// float32 between casts. Resize and its kin also take float32-only `scales`/`roi` inputs, so they stay float32 whole.
export const KEEP_FP32 = new Set([
  'Softmax',
  'LogSoftmax',
  'Exp',
  'Log',
  'Pow',
  'Sqrt',
  'Reciprocal',
  'ReduceMean',
  'ReduceSum',
  'ReduceSumSquare',
  'ReduceL2',
  'ReduceLogSumExp',
  'LayerNormalization',
  'InstanceNormalization',
  'BatchNormalization',
  'LpNormalization',
  'Erf',
  'Resize',
  'Upsample',
  'RandomNormalLike',
  'RandomUniformLike',
  'TopK',
  'CumSum',
  'Range',
  'Einsum',
]);

function cast(g: Graph, x: Value, to: 'float16' | 'float32', name?: string): Value {
  const y = name ? g.value(name) : g.newValue(`${x.name}_${to === 'float16' ? 'fp16' : 'fp32'}`);
  y.type = { dtype: to, ...(x.type?.shape ? { shape: [...x.type.shape] } : {}) };
  const n = new Node('Cast', g.uniqueName(`Cast_${x.name}`));
  n.attributes.set('to', { kind: 'int', value: ONNX_CODE[to] });
  g.addNode(n, [x], [y]);
  return y;
}

const setDtype = (v: Value, dtype: 'float16' | 'float32') => {
  if (v.type) v.type = { ...v.type, dtype };
};

// Constants a kept-float32 node reads stay float32; every other float32 constant becomes float16.
function convertInitializers(g: Graph): void {
  const halfOf = new Map<Value, Value>();
  for (const v of [...g.initializers]) {
    if (v.constant?.dtype !== 'float32') continue;
    const keep = v.uses.filter((u) => KEEP_FP32.has(u.node.opType));
    const half = v.uses.filter((u) => !KEEP_FP32.has(u.node.opType));
    if (!half.length) continue;
    const t = new Tensor('float16', v.constant.dims, halfArray(v.constant.data as Float32Array));
    if (!keep.length) {
      v.constant = t;
      setDtype(v, 'float16');
      continue;
    }
    const h = halfOf.get(v) ?? g.addInitializer(g.uniqueName(`${v.name}_fp16`), t);
    halfOf.set(v, h);
    for (const u of half) g.setInput(u.node, u.index, h);
  }
}

// Float attributes holding tensors (Constant values, ConstantOfShape fill) follow their node's new type.
function convertAttributes(n: Node): void {
  for (const [k, a] of n.attributes) {
    if (a.kind === 'tensor' && a.value.dtype === 'float32') {
      n.attributes.set(k, {
        kind: 'tensor',
        value: new Tensor('float16', a.value.dims, halfArray(a.value.data as Float32Array)),
      });
    }
  }
  if (n.opType === 'Cast' && n.attrInt('to') === ONNX_CODE.float32)
    n.attributes.set('to', { kind: 'int', value: ONNX_CODE.float16 });
}

// A float16 copy of an fp32 inference graph: weights and activations in half precision, the ops in KEEP_FP32 in
// float32 behind casts, and float32 graph inputs/outputs unless `io` is 'fp16'. Mutates and returns the model.
export function toFloat16(model: Model, io: IoType = 'fp32'): Model {
  const g = model.graph;
  const inputs = new Set(g.inputs);
  const outputs = new Set(g.outputs);
  convertInitializers(g);
  for (const n of [...g.nodes]) {
    const kept = KEEP_FP32.has(n.opType);
    if (!kept) convertAttributes(n);
    for (const o of n.outputs) if (o.type?.dtype === 'float32' && !kept) setDtype(o, 'float16');
  }
  for (const x of g.inputs) if (x.type?.dtype === 'float32' && io === 'fp16') setDtype(x, 'float16');
  // Kept nodes read float32: cast their float16 inputs up, and their outputs down for float16 readers.
  for (const n of [...g.nodes]) {
    if (!KEEP_FP32.has(n.opType)) continue;
    n.inputs.forEach((v, i) => {
      if (v && v.type?.dtype === 'float16' && !v.constant) g.setInput(n, i, cast(g, v, 'float32'));
    });
    for (const o of n.outputs) {
      const readers = o.uses.filter((u) => !KEEP_FP32.has(u.node.opType));
      if (o.type?.dtype !== 'float32' || !readers.length) continue;
      const down = cast(g, o, 'float16');
      for (const u of readers) g.setInput(u.node, u.index, down);
    }
  }
  // Float32 graph inputs feed float16 readers through one cast each.
  for (const x of inputs) {
    if (x.type?.dtype !== 'float32') continue;
    const readers = x.uses.filter((u) => !KEEP_FP32.has(u.node.opType));
    if (!readers.length) continue;
    const h = cast(g, x, 'float16');
    for (const u of readers) g.setInput(u.node, u.index, h);
  }
  // Graph outputs keep their names and get the io type: a producer of the other float type writes a renamed value
  // that one cast turns into the output.
  const want = io === 'fp16' ? 'float16' : 'float32';
  g.outputs = g.outputs.map((y) => {
    const t = y.type?.dtype;
    if (t === want || (t !== 'float16' && t !== 'float32') || !outputs.has(y) || inputs.has(y)) return y;
    const p = y.producer;
    const h = g.newValue(`${y.name}_${t === 'float16' ? 'fp16' : 'fp32'}`, { ...y.type!, dtype: t });
    if (p) {
      p.outputs[p.outputs.indexOf(y)] = h;
      h.producer = p;
      y.producer = undefined;
    }
    for (const u of [...y.uses]) g.setInput(u.node, u.index, h);
    g.values.delete(y.name);
    return cast(g, h, want, y.name);
  });
  topoSort(g);
  return model;
}
