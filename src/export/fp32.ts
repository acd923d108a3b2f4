import { toInferenceForm } from '../compiler/inferenceForm.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { topoSort } from '../ir/passes/toposort.js';
import { Tensor } from '../ir/tensor.js';

// What the fp32 clean-up changed, for the export report.
export interface CleanReport {
  foldedBatchNorms: number;
  removedNodes: number;
}

const isConst = (v: Value | undefined): v is Value & { constant: Tensor } => !!v?.constant && v.producer === undefined;
const graphIO = (g: Graph) => new Set<Value>([...g.inputs, ...g.outputs]);

// BatchNormalization in inference form (one output) reading a constant-weight Conv or Gemm it alone consumes.
function foldableProducer(g: Graph, bn: Node): Node | undefined {
  if (
    bn.opType !== 'BatchNormalization' ||
    bn.outputs.filter((o) => o.uses.length || g.outputs.includes(o)).length !== 1
  )
    return undefined;
  if (bn.attrInt('training_mode', 0) !== 0 || ![1, 2, 3, 4].every((i) => isConst(bn.inputs[i]))) return undefined;
  const x = bn.input(0);
  const p = x.producer;
  if (!p || x.uses.length !== 1 || g.outputs.includes(x)) return undefined;
  if (p.opType === 'Conv' && isConst(p.inputs[1]) && (p.inputs[2] === undefined || isConst(p.inputs[2]))) return p;
  if (
    p.opType === 'Gemm' &&
    isConst(p.inputs[1]) &&
    p.attrInt('transA', 0) === 0 &&
    (p.inputs[2] === undefined || isConst(p.inputs[2]))
  )
    return p;
  return undefined;
}

// Fold y = gamma·(x − mean)/√(var + eps) + beta into the producer's weights, in float64, rounding once to float32:
// W'[c] = W[c]·s[c], b'[c] = (b[c] − mean[c])·s[c] + beta[c] with s = gamma/√(var + eps).
function foldInto(g: Graph, p: Node, bn: Node): void {
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => bn.input(i).constant!.data as Float32Array);
  const eps = bn.attrFloat('epsilon', 1e-5);
  const C = gamma!.length;
  const s = Float64Array.from(gamma!, (gm, c) => gm / Math.sqrt(variance![c]! + eps));
  const w = p.input(1).constant!;
  const wd = w.data as Float32Array;
  const out = new Float32Array(wd.length);
  let alpha = 1,
    betaG = 1;
  // Which weight index belongs to output channel c: Conv [Cout, ...] and Gemm transB=1 [N, K] by row, transB=0 [K, N] by column.
  const byColumn = p.opType === 'Gemm' && p.attrInt('transB', 0) === 0;
  if (p.opType === 'Gemm') {
    alpha = p.attrFloat('alpha', 1);
    betaG = p.attrFloat('beta', 1);
  }
  const per = wd.length / C;
  for (let i = 0; i < wd.length; i++) {
    const c = byColumn ? i % C : Math.floor(i / per);
    out[i] = wd[i]! * alpha * s[c]!;
  }
  const b0 = p.inputs[2]?.constant?.data as Float32Array | undefined;
  const bias = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const b = b0 ? betaG * b0[b0.length === 1 ? 0 : c]! : 0;
    bias[c] = (b - mean![c]!) * s[c]! + beta![c]!;
  }
  const wv = g.addInitializer(g.uniqueName(`${p.input(1).name}_bnfolded`), new Tensor('float32', w.dims, out));
  const bv = g.addInitializer(g.uniqueName(`${p.outputs[0]!.name}_bias_bnfolded`), Tensor.float32([C], bias));
  g.setInput(p, 1, wv);
  g.setInput(p, 2, bv);
  if (p.opType === 'Gemm') {
    p.attributes.set('alpha', { kind: 'float', value: 1 });
    p.attributes.set('beta', { kind: 'float', value: 1 });
  }
  // The producer now writes the BN's output value, so names downstream (and graph outputs) stay as they were.
  const y = bn.outputs[0]!;
  const x = p.outputs[0]!;
  g.removeNode(bn);
  p.outputs[0] = y;
  y.producer = p;
  x.producer = undefined;
}

// Fold every foldable BatchNormalization into the Conv/Gemm before it; returns how many.
export function foldBatchNorms(g: Graph): number {
  let n = 0;
  for (const bn of [...g.nodes]) {
    const p = foldableProducer(g, bn);
    if (p) {
      foldInto(g, p, bn);
      n++;
    }
  }
  return n;
}

// Identity and inference-mode Dropout do nothing at inference: drop them, keeping the later name (taps refer to it).
export function removeNoOps(g: Graph): number {
  const io = graphIO(g);
  let n = 0;
  for (const node of [...g.nodes]) {
    const noop =
      node.opType === 'Identity' ||
      (node.opType === 'Dropout' &&
        node.outputs.slice(1).every((o) => !o.uses.length && !io.has(o)) &&
        !isTraining(node));
    if (!noop || node.domain !== '') continue;
    const x = node.input(0);
    const y = node.outputs[0]!;
    if (io.has(y) || io.has(x) || x.constant || !x.producer) continue;
    g.removeNode(node);
    g.replaceAllUses(y, x);
    g.values.delete(y.name);
    g.values.delete(x.name);
    x.name = y.name;
    g.values.set(x.name, x);
    n++;
  }
  return n;
}

function isTraining(n: Node): boolean {
  const t = n.inputs[2];
  return !!t && !(t.constant && t.constant.toNumbers()[0] === 0);
}

// The fp32 inference graph: BatchNorm folded into Conv/Gemm, no-ops dropped, shape arithmetic folded to constants,
// dead nodes and unused initializers removed. A new Model sharing the original's metadata and opsets.
export function cleanInferenceGraph(model: Model): { model: Model; report: CleanReport } {
  const g = model.graph;
  const before = g.nodes.length;
  toInferenceForm(g);
  topoSort(g);
  const foldedBatchNorms = foldBatchNorms(g);
  removeNoOps(g);
  inferShapes(g, { fold: true });
  eliminateDeadCode(g);
  topoSort(g);
  return {
    model: new Model(g, new Map(model.opsets), model.proto),
    report: { foldedBatchNorms, removedNodes: before - g.nodes.length },
  };
}
