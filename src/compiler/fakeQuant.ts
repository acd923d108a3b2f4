import { Builder } from '../ir/builder.js';
import { Node, type Graph, type Value } from '../ir/graph.js';
import { topoSort } from '../ir/passes/toposort.js';
import { Tensor } from '../ir/tensor.js';
import { PSEUDO_DOMAIN } from '../autodiff/pseudo.js';
import type { PlacedNetwork } from './network.js';

// Quantisation-aware training (Jacob et al. 2018, arXiv 1712.05877): the student computes in the step what its int8
// export will compute, so that training adapts its weights to the rounding. Mirrors src/export/int8.ts and qdq.ts:
// - weights of Conv, Gemm (transA = 0) and MatMul with a learned or constant 2-D weight: per-channel symmetric along
//   the output-channel axis, scale_c = max|w_c| / qmax (1 for an all-zero channel), qmax = 2^(bits−1) − 1, zero point
//   0, recomputed from the current weights in every step (so the export's scales, computed from the final weights by
//   the same formula, are the ones it trained with; BatchNorm folding scales each channel, which per-channel
//   quantisation commutes with);
// - activations the exporter quantises (its planInt8, run above the compiler on the student's export graph): per-tensor
//   asymmetric uint8 at parameters HELD fixed for the whole QAT run, calibrated once at its start with the export's
//   calibrator on training batches. Held, not tracked by an EMA as PyTorch's MovingAverageMinMaxObserver does: QAT
//   here fine-tunes a trained fp32 student for a few epochs at a low lr, whose ranges barely move, and fixed
//   parameters make the step and evaluation graphs, a resumed run and the export agree exactly without more state.
// Gradients: the FakeQuantize rule's straight-through estimator (src/autodiff/rules/FakeQuantize.ts).
// Returns how many tensors were fake-quantised.
export function fakeQuantize(g: Graph, net: PlacedNetwork): number {
  const spec = net.spec.fakeQuant;
  if (!spec) return 0;
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
  for (const a of spec.activations) {
    const original = net.byOriginal.get(a.name);
    if (!original) throw new Error(`fake quantisation: network '${net.spec.name}' has no value '${a.name}'`);
    // The network's own image input was replaced by the value that feeds it (the shared input, read by others too).
    const v = !original.producer && !original.constant && original.uses.length === 0 ? net.input : original;
    const readers = v.uses.filter((u) => mine.has(u.node));
    if (!readers.length) continue;
    const scale = b.constant(Tensor.float32([], [a.scale]));
    const zero = b.constant(new Tensor('uint8', [], Uint8Array.of(a.zeroPoint)), 'uint8');
    const y = pseudo(b, v, scale, zero, { qmin: 0, qmax: 255 });
    for (const u of readers) g.setInput(u.node, u.index, y);
    count++;
  }
  if (count) topoSort(g);
  return count;
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
