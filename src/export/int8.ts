import type { Graph, Node, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { topoSort } from '../ir/passes/toposort.js';
import { UserError } from '../util/errors.js';
import type { TensorStats, Calibrator } from './calibrate/index.js';
import {
  activationParams,
  dequantizedConstant,
  insertDynamicQdq,
  insertQdq,
  quantizeBias,
  quantizeWeights,
  type QParams,
  type WeightBits,
} from './qdq.js';

// Ops that run in int8 when their activation inputs come from DequantizeLinear and their output goes to a
// QuantizeLinear: onnxruntime fuses each such unit (QLinearConv, QGemm/QLinearMatMul, QLinearAdd, ...).
const COMPUTE = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Mul', 'GlobalAveragePool', 'AveragePool', 'Concat']);
// Ops that move int8 values without arithmetic: their output reuses their input's parameters.
const PASS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze']);
// Activations folded into the quantiser before them (a range from 0 clamps exactly like ReLU).
const FUSABLE = new Set(['Conv', 'Gemm', 'MatMul', 'Add']);

const isConst = (v: Value | undefined) => !!v?.constant && !v.producer;
const isFloatActivation = (v: Value | undefined): v is Value =>
  !!v && !isConst(v) && (v.type?.dtype ?? 'float32') === 'float32';

// Input slots of a node that carry int8 activations, or undefined when the node stays in float.
function activationSlots(n: Node): number[] | undefined {
  if (n.domain !== '' || (!COMPUTE.has(n.opType) && !PASS.has(n.opType))) return undefined;
  switch (n.opType) {
    case 'Conv':
      return isConst(n.inputs[1]) && (!n.inputs[2] || isConst(n.inputs[2])) ? [0] : undefined;
    case 'Gemm':
      return n.attrInt('transA', 0) === 0 && isConst(n.inputs[1]) && (!n.inputs[2] || isConst(n.inputs[2]))
        ? [0]
        : undefined;
    case 'MatMul':
      return isConst(n.inputs[1]) ? (n.input(1).shape.length === 2 ? [0] : undefined) : [0, 1];
    case 'Add':
    case 'Mul':
    case 'Concat':
      return n.inputs.every(isFloatActivation) ? n.inputs.map((_, i) => i) : undefined;
    default:
      return isFloatActivation(n.inputs[0]) ? [0] : undefined;
  }
}

// A quantisation plan over a cleaned fp32 graph: which ReLUs fold away, which activations get calibrated scales,
// and which pass-through outputs share their input's.
export interface Int8Plan {
  fused: Node[];
  calibrated: Value[];
  shared: Map<Value, Value>;
}

// Does reading `v` as int8 pay off: some reader computes in int8, directly or through pass-through ops?
function wantsInt8(v: Value, memo = new Map<Value, boolean>()): boolean {
  if (memo.has(v)) return memo.get(v)!;
  memo.set(v, false);
  const r = v.uses.some((u) => {
    const slots = activationSlots(u.node);
    if (!slots?.includes(u.index)) return false;
    return COMPUTE.has(u.node.opType) || wantsInt8(u.node.outputs[0]!, memo);
  });
  memo.set(v, r);
  return r;
}

// Fold ReLU (and Clip from 0) into the int8 compute op before it: the op then writes the activation's value, and
// that value's calibrated range (from 0) makes the quantiser clamp at zero.
function fuseActivations(g: Graph): Node[] {
  const fused: Node[] = [];
  for (const n of [...g.nodes]) {
    const x = n.inputs[0];
    const p = x?.producer;
    const clipFromZero = n.opType === 'Clip' && isConst(n.inputs[1]) && n.input(1).constant!.toNumbers()[0] === 0;
    if (!(n.opType === 'Relu' || clipFromZero) || !x || !p || !FUSABLE.has(p.opType) || !activationSlots(p)) continue;
    if (x.uses.length !== 1 || g.outputs.includes(x) || !wantsInt8(n.outputs[0]!)) continue;
    const y = n.outputs[0]!;
    g.removeNode(n);
    p.outputs[p.outputs.indexOf(x)] = y;
    y.producer = p;
    x.producer = undefined;
    fused.push(n);
  }
  return fused;
}

// Plan static int8 over a cleaned fp32 graph (mutates it: fused activations are removed).
export function planInt8(g: Graph): Int8Plan {
  topoSort(g);
  const fused = fuseActivations(g);
  eliminateDeadCode(g);
  const calibrated: Value[] = [];
  const shared = new Map<Value, Value>();
  const chosen = new Set<Value>();
  for (const v of [...g.inputs, ...g.nodes.flatMap((n) => n.outputs)]) {
    if (!isFloatActivation(v) || !wantsInt8(v)) continue;
    const p = v.producer;
    const src = p && PASS.has(p.opType) ? p.inputs[0] : undefined;
    if (src && chosen.has(shared.get(src) ?? src)) shared.set(v, shared.get(src) ?? src);
    else calibrated.push(v);
    chosen.add(v);
  }
  return { fused, calibrated, shared };
}

// Weight slot, output-channel axis and bias slot of an int8 compute node with constant weights.
function weightOf(n: Node): { w: number; axis: number; bias?: number } | undefined {
  if (n.opType === 'Conv') return { w: 1, axis: 0, bias: 2 };
  if (n.opType === 'Gemm') return { w: 1, axis: n.attrInt('transB', 0) ? 0 : 1, bias: 2 };
  if (n.opType === 'MatMul' && isConst(n.inputs[1])) return { w: 1, axis: 1 };
  return undefined;
}

// Per-channel int8 weights (and int32 bias in the accumulator's scale, when the input scale is known).
function quantizeNodeWeights(g: Graph, n: Node, inputScale: number | undefined, bits: WeightBits): void {
  const spec = weightOf(n);
  if (!spec || !activationSlots(n)) return;
  const w = n.input(spec.w);
  const { q, scales } = quantizeWeights(w.constant!, spec.axis, bits);
  g.setInput(n, spec.w, dequantizedConstant(g, w.name, q, scales, spec.axis));
  const b = spec.bias !== undefined ? n.inputs[spec.bias] : undefined;
  if (!b || inputScale === undefined || b.constant!.size !== scales.length || b.constant!.dims.length !== 1) return;
  const qb = quantizeBias(b.constant!, inputScale, scales);
  g.setInput(n, spec.bias!, dequantizedConstant(g, b.name, qb.q, qb.scales, 0));
}

// QDQ int8 with calibrated activation ranges, in the form onnxruntime fuses into QLinearConv / QGemm / QLinearAdd.
export function quantizeStatic(
  model: Model,
  plan: Int8Plan,
  stats: Map<string, TensorStats>,
  calibrator: Calibrator,
  bits: WeightBits = 7,
): Model {
  requireOpset(model);
  const g = model.graph;
  const params = new Map<Value, QParams>();
  for (const v of plan.calibrated) {
    const s = stats.get(v.name);
    if (!s || !Number.isFinite(s.min) || !Number.isFinite(s.max))
      throw new Error(`no calibration statistics for '${v.name}'`);
    const [lo, hi] = calibrator.range(s);
    params.set(v, activationParams(lo, hi));
  }
  for (const [v, src] of plan.shared) params.set(v, params.get(src)!);
  const dq = new Map<Value, QParams>();
  for (const [v, p] of params) {
    insertQdq(g, v, p);
    dq.set(v, p);
  }
  for (const n of [...g.nodes]) {
    if (!weightOf(n)) continue;
    const x =
      n.inputs[0]?.producer?.opType === 'DequantizeLinear'
        ? n.inputs[0].producer.inputs[0]?.producer?.inputs[0]
        : undefined;
    quantizeNodeWeights(g, n, x ? dq.get(x)?.scale : undefined, bits);
  }
  eliminateDeadCode(g);
  topoSort(g);
  return model;
}

// Dynamic int8: per-channel int8 weights, activations quantised per run (DynamicQuantizeLinear) before each
// Conv/Gemm/MatMul; no calibration.
export function quantizeDynamic(model: Model, bits: WeightBits = 7): Model {
  requireOpset(model);
  const g = model.graph;
  for (const n of [...g.nodes]) {
    if (!weightOf(n) || !activationSlots(n)) continue;
    const x = n.input(0);
    insertDynamicQdq(g, x, [{ node: n, index: 0 }]);
    quantizeNodeWeights(g, n, undefined, bits);
  }
  eliminateDeadCode(g);
  topoSort(g);
  return model;
}

function requireOpset(model: Model): void {
  if (model.opset < 13)
    throw new UserError(
      `--format int8: the model is at opset ${model.opset}; per-channel int8 needs opset 13 or later`,
      're-export it from PyTorch with opset_version=13 or newer',
    );
}
