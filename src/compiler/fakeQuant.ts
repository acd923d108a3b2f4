import { Builder } from '../ir/builder.js';
import { Node, type Graph, type Value } from '../ir/graph.js';
import { topoSort } from '../ir/passes/toposort.js';
import { Tensor } from '../ir/tensor.js';
import { PSEUDO_DOMAIN } from '../autodiff/pseudo.js';
import type { PlacedNetwork, QatRange } from './network.js';

// Quantisation-aware training (Jacob et al. 2018, arXiv 1712.05877): the student computes in the step what its int8
// export will compute, so that training adapts its weights to the rounding. Mirrors src/export/int8.ts and qdq.ts:
// - weights of Conv, Gemm (transA = 0) and MatMul with a learned or constant 2-D weight: per-channel symmetric along
//   the output-channel axis, scale_c = max|w_c| / qmax (1 for an all-zero channel), qmax = 2^(bits−1) − 1, zero point
//   0, recomputed from the current weights in every step (so the export's scales, computed from the final weights by
//   the same formula, are the ones it trained with; BatchNorm folding scales each channel, which per-channel
//   quantisation commutes with);
// - activations the exporter quantises (its planInt8, run above the compiler on the student's export graph): per-tensor
//   asymmetric uint8 from a range [min, max] that starts at the export calibrator's (on training batches) and is
//   TRACKED as PyTorch's MovingAverageMinMaxObserver (its default QAT qconfig) tracks it: each training step moves it
//   toward the batch's own min and max, min += c·(min_batch − min) with c = 0.01, and quantises the batch at the moved
//   range, as PyTorch's FakeQuantize observes before it quantises. The range is state of the student (buffers, like
//   BatchNorm's running statistics): in the initial state and checkpoint.bin, carried by the step, read unchanged by
//   the evaluation graph. Scale and zero point follow from it in the graph by the exporter's formula computed in
//   float32 (activationParams), so that `export --format int8` from the final ranges (the student's META_QAT record)
//   writes bit for bit the parameters the last evaluation used. Held ranges (FakeQuantSpec.averaging absent) are
//   constants of the graph.
// Gradients: the FakeQuantize rule's straight-through estimator (src/autodiff/rules/FakeQuantize.ts); the ranges get
// none (they are observed, not learned).
// Returns the tracked ranges' values after this step (buffer -> next value; empty unless `track` and the network's
// ranges are tracked state).
export function fakeQuantize(g: Graph, net: PlacedNetwork, o: { track: boolean }): Map<Value, Value> {
  const spec = net.spec.fakeQuant;
  const next = new Map<Value, Value>();
  if (!spec) return next;
  const b = new Builder(g, `${net.spec.name}/fakequant`);
  const learned = new Set<Value>([...net.params, ...net.buffers]);
  const fixed = (v: Value | undefined): v is Value => !!v && !v.producer && (!!v.constant || learned.has(v));
  const mine = new Set<Node>(net.nodes);
  let count = 0;
  for (const n of [...net.nodes]) {
    const at = weightSlot(n, fixed);
    if (!at) continue;
    g.setInput(n, 1, fakeQuantWeight(b, n.input(1), at.axis, spec.weightBits));
    count++;
  }
  // Tracked ranges are buffers of a trainable network (placeNetwork); a frozen one's, and held ones, are constants.
  const tracking = o.track && spec.averaging !== undefined && net.spec.trainable;
  const params = new Map<string, { scale: Value; zero: Value }>();
  const activation = (name: string) => {
    const original = net.byOriginal.get(name);
    if (!original) throw new Error(`fake quantisation: network '${net.spec.name}' has no value '${name}'`);
    // The network's own image input was replaced by the value that feeds it (the shared input, read by others too).
    let v = !original.producer && !original.constant && original.uses.length === 0 ? net.input : original;
    // A name the export graph took from a dangling Identity (a zoo tap such as `f3`, which the exporter's cleaning
    // folds onto its source) stands for the value that Identity copies: the one the network's nodes read.
    const reads = (x: Value) => x.uses.some((u) => mine.has(u.node));
    while (!reads(v) && v.producer?.opType === 'Identity' && mine.has(v.producer)) v = v.producer.input(0);
    return { v, readers: v.uses.filter((u) => mine.has(u.node)) };
  };
  // Each range's parameters, from the range moved by this batch when tracking (before any reader is rewired).
  for (const a of spec.activations) {
    const range = net.ranges.get(a.name)!;
    const { v } = activation(a.name);
    const moved = tracking ? track(b, v, range, spec.averaging!) : range;
    if (tracking) {
      next.set(range.min, moved.min);
      next.set(range.max, moved.max);
    }
    params.set(a.name, rangeParams(b, moved));
  }
  const quantise = (name: string, p: { scale: Value; zero: Value }) => {
    const { v, readers } = activation(name);
    if (!readers.length) return;
    const y = pseudo(b, v, p.scale, p.zero, { qmin: 0, qmax: 255 });
    for (const u of readers) g.setInput(u.node, u.index, y);
    count++;
  };
  for (const a of spec.activations) quantise(a.name, params.get(a.name)!);
  for (const [name, src] of Object.entries(spec.shared)) {
    const p = params.get(src);
    if (!p) throw new Error(`fake quantisation: '${name}' shares the parameters of '${src}', which has no range`);
    quantise(name, p);
  }
  if (count) topoSort(g);
  return next;
}

// MovingAverageMinMaxObserver's update on one batch: min + c·(min(x) − min), max + c·(max(x) − max), in float32.
function track(b: Builder, x: Value, r: QatRange, c: number): QatRange {
  const ema = (old: Value, batch: Value) => b.add(old, b.mul(b.sub(batch, old), b.constant(Math.fround(c))));
  return {
    min: ema(r.min, b.op.ReduceMin!([x], { keepdims: 0 })),
    max: ema(r.max, b.op.ReduceMax!([x], { keepdims: 0 })),
  };
}

// The exporter's activationParams in graph ops (float32 throughout): lo = min(min, 0), hi = max(max, 0),
// scale = (hi − lo) / 255 (1 when hi = lo), zero point = clamp(round(−lo / scale), 0, 255) as uint8.
function rangeParams(b: Builder, r: QatRange): { scale: Value; zero: Value } {
  const lo = b.op.Min!([r.min, b.constant(0)]);
  const d = b.sub(b.op.Max!([r.max, b.constant(0)]), lo);
  const scale = b.op.Where!([b.op.Greater!([d, b.constant(0)]), b.div(d, 255), b.constant(1)]);
  const q = b.op.Round!([b.div(b.op.Neg!([lo]), scale)]);
  const clamped = b.op.Min!([b.op.Max!([q, b.constant(0)]), b.constant(255)]);
  return { scale, zero: b.op.Cast!([clamped], { to: 2 }) };
}

// The weight input's output-channel axis of a node the int8 exporter quantises (src/export/int8.ts, weightOf and
// activationSlots), or undefined.
function weightSlot(n: Node, fixed: (v: Value | undefined) => v is Value): { axis: number } | undefined {
  if (n.domain !== '' || !fixed(n.inputs[1])) return undefined;
  const biasOk = !n.inputs[2] || fixed(n.inputs[2]);
  if (n.opType === 'Conv' && biasOk) return { axis: 0 };
  if (n.opType === 'Gemm' && biasOk && n.attrInt('transA', 0) === 0) return { axis: n.attrInt('transB', 0) ? 0 : 1 };
  if (n.opType === 'MatMul' && n.input(1).rank === 2) return { axis: 1 };
  return undefined;
}

// FakeQuantize(w) per channel: scale_c = max|w_c| / qmax (1 where the channel is all zeros), int8 zero points.
function fakeQuantWeight(b: Builder, w: Value, axis: number, bits: 7 | 8): Value {
  const qmax = 2 ** (bits - 1) - 1;
  const others = w.shape.map((_, i) => i).filter((i) => i !== axis);
  const amax = b.op.ReduceMax!([b.op.Abs!([w]), b.constant(others, 'int64')], { keepdims: 0 });
  const scale = b.op.Where!([b.op.Greater!([amax, b.constant(0)]), b.div(amax, qmax), b.constant(1)]);
  const channels = w.shape[axis]!;
  const zero = b.constant(new Tensor('int8', [channels], new Int8Array(channels)), 'int8');
  return pseudo(b, w, scale, zero, { axis, qmin: -qmax, qmax });
}

// One FakeQuantize pseudo-node, its output typed like its input (the builder infers no shapes for pseudo-ops).
function pseudo(b: Builder, x: Value, scale: Value, zero: Value, attrs: Record<string, number>): Value {
  const [y] = b.node('FakeQuantize', [x, scale, zero], attrs, { domain: PSEUDO_DOMAIN });
  y!.type = { dtype: 'float32', ...(x.type?.shape ? { shape: [...x.type.shape] } : {}) };
  return y!;
}

// Lower every FakeQuantize pseudo-op to QuantizeLinear→DequantizeLinear (after autodiff has used its rule). Their
// saturation is the zero point's type's, which equals [qmin, qmax] here: uint8 activations, and weights whose scale
// puts every value inside ±qmax.
export function expandFakeQuant(g: Graph): void {
  let any = false;
  for (const n of [...g.nodes]) {
    if (n.opType !== 'FakeQuantize' || n.domain !== PSEUDO_DOMAIN) continue;
    const b = new Builder(g, n.name);
    const [x, scale, zero] = [n.input(0), n.input(1), n.input(2)];
    const axis = scale.rank === 1 ? { axis: n.attrInt('axis', 1) } : {};
    const q = b.op.QuantizeLinear!([x, scale, zero], axis);
    q.type = { dtype: zero.dtype, ...(x.type?.shape ? { shape: [...x.type.shape] } : {}) };
    const y = b.op.DequantizeLinear!([q, scale, zero], axis);
    const out = n.outputs[0]!;
    g.removeNode(n);
    g.replaceAllUses(out, y);
    y.type = out.type;
    any = true;
  }
  if (any) topoSort(g);
}
