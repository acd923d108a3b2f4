import type { Node } from '../ir/graph.js';
import type { Graph } from '../ir/graph.js';

// Multiply-accumulates of a model, per op type: the compute cost users compare students by.
export interface MacCount {
  total: number;
  byOpType: Record<string, number>;
  // Nodes of a counted op type whose shapes were unknown, so their MACs are missing from the total.
  unknown: string[];
}

function staticShape(n: Node, i: number, output = false): number[] | undefined {
  const v = output ? n.outputs[i] : n.inputs[i];
  return v?.hasStaticShape() ? v.shape : undefined;
}

const prod = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);

// Conv: N·Cout·spatial_out·(Cin/group)·prod(kernel) (bias adds are not counted, as in fvcore/thop).
function convMacs(n: Node): number | undefined {
  const y = staticShape(n, 0, true);
  const w = staticShape(n, 1);
  if (!y || !w) return undefined;
  return prod(y) * prod(w.slice(1));
}

// ConvTranspose: every input pixel scatters a Cout/group·kernel patch: N·Cin·spatial_in·(Cout/group)·prod(kernel).
function convTransposeMacs(n: Node): number | undefined {
  const x = staticShape(n, 0);
  const w = staticShape(n, 1);
  if (!x || !w) return undefined;
  return prod(x) * prod(w.slice(1));
}

// Gemm: M·N·K with K the shared dim of A (transposed or not).
function gemmMacs(n: Node): number | undefined {
  const a = staticShape(n, 0);
  const y = staticShape(n, 0, true);
  if (!a || !y || a.length !== 2) return undefined;
  const k = n.attrInt('transA', 0) ? a[0]! : a[1]!;
  return prod(y) * k;
}

// MatMul (batched, numpy semantics): output elements times the contracted dim.
function matmulMacs(n: Node): number | undefined {
  const a = staticShape(n, 0);
  const y = staticShape(n, 0, true);
  if (!a || !y || a.length === 0) return undefined;
  return prod(y) * a[a.length - 1]!;
}

// Ops whose MACs are counted; everything else (activations, adds, pooling) is treated as free, as fvcore does.
export const MAC_RULES: Record<string, (n: Node) => number | undefined> = {
  Conv: convMacs,
  ConvTranspose: convTransposeMacs,
  Gemm: gemmMacs,
  MatMul: matmulMacs,
};

// MACs of a shape-inferred graph per op type and in total (run inferShapes with a fixed input shape first).
export function countMacs(g: Graph): MacCount {
  const res: MacCount = { total: 0, byOpType: {}, unknown: [] };
  for (const n of g.nodes) {
    const rule = n.domain === '' ? MAC_RULES[n.opType] : undefined;
    if (!rule) continue;
    const m = rule(n);
    if (m === undefined) {
      res.unknown.push(n.name);
      continue;
    }
    res.byOpType[n.opType] = (res.byOpType[n.opType] ?? 0) + m;
    res.total += m;
  }
  return res;
}
