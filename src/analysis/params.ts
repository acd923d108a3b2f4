import type { Graph, Value } from '../ir/graph.js';

// Parameter totals of a model: what "size" means when comparing a teacher and its students.
export interface ParamCount {
  // Number of weight elements (float initializers, BatchNorm running statistics excluded).
  count: number;
  // Bytes those weights take in the file's dtypes.
  bytes: number;
  // How many initializer tensors were counted.
  tensors: number;
  // Elements of BatchNorm running mean/var (buffers, not parameters; reported apart).
  buffers: number;
}

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);

// Initializers read as BatchNormalization running mean/var (inputs 3 and 4): buffers, not weights.
function runningStats(g: Graph): Set<Value> {
  const out = new Set<Value>();
  for (const n of g.nodes) {
    if (n.opType !== 'BatchNormalization' && n.opType !== 'BatchNormTrain') continue;
    for (const i of [3, 4]) {
      const v = n.inputs[i];
      if (v) out.add(v);
    }
  }
  return out;
}

// Quantised models: integer weights behind a DequantizeLinear are parameters; the scales and zero points of any
// Quantize/DequantizeLinear are bookkeeping, not weights.
function quantization(g: Graph): { weights: Set<Value>; qparams: Set<Value> } {
  const weights = new Set<Value>(),
    qparams = new Set<Value>();
  for (const n of g.nodes) {
    if (n.opType !== 'DequantizeLinear' && n.opType !== 'QuantizeLinear') continue;
    if (n.opType === 'DequantizeLinear' && n.inputs[0]?.constant) weights.add(n.inputs[0]);
    for (const i of [1, 2]) {
      const v = n.inputs[i];
      if (v) qparams.add(v);
    }
  }
  return { weights, qparams };
}

// Count weights as PyTorch's `sum(p.numel() for p in model.parameters())` would: float initializers (and the integer
// weights of a quantised model),
// BN scale/bias included, BN running stats and integer/shape constants excluded.
export function countParameters(g: Graph): ParamCount {
  const stats = runningStats(g);
  const q = quantization(g);
  const res: ParamCount = { count: 0, bytes: 0, tensors: 0, buffers: 0 };
  for (const v of g.initializers) {
    const t = v.constant;
    if (!t || q.qparams.has(v) || (!FLOAT.has(t.dtype) && !q.weights.has(v))) continue;
    if (stats.has(v)) {
      res.buffers += t.size;
      continue;
    }
    res.count += t.size;
    res.bytes += t.byteLength;
    res.tensors += 1;
  }
  return res;
}
