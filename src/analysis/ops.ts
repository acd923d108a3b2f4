import { gradRuleFor } from '../autodiff/registry.js';
import type { Graph, Node, Value } from '../ir/graph.js';

// How many nodes of each op type a graph has (domain-qualified outside the default domain), most frequent first.
export function opHistogram(g: Graph): Record<string, number> {
  const h = new Map<string, number>();
  for (const n of g.nodes) {
    const k = n.domain ? `${n.domain}:${n.opType}` : n.opType;
    h.set(k, (h.get(k) ?? 0) + 1);
  }
  return Object.fromEntries([...h].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

// Whether training can differentiate a model, and where it cannot: the answer before anyone starts a run.
export interface Differentiability {
  supported: boolean;
  // Op types lacking a gradient rule, with the names of the nodes that use them.
  unsupported: { opType: string; nodes: string[] }[];
}

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);

function isFloat(v: Value | undefined): boolean {
  return !!v?.type && FLOAT.has(v.type.dtype);
}

// Values a gradient can flow through: floats that depend on a float graph input or a float initializer.
// Shape arithmetic (Shape, Gather on shapes, Constant...) is integer-typed or constant, so it never needs a rule.
function gradientPath(g: Graph): Set<Value> {
  const live = new Set<Value>([...g.inputs, ...g.initializers].filter(isFloat));
  for (const n of g.nodes) {
    if (!n.inputs.some((v) => v && live.has(v))) continue;
    for (const o of n.outputs) if (isFloat(o) || !o.type) live.add(o);
  }
  return live;
}

function needsRule(n: Node, live: Set<Value>): boolean {
  return n.inputs.some((v) => v && live.has(v)) && n.outputs.some((o) => live.has(o));
}

// Check every node on the gradient path against the autodiff rule registry (graph must be topologically sorted).
export function checkDifferentiable(g: Graph): Differentiability {
  const live = gradientPath(g);
  const missing = new Map<string, string[]>();
  for (const n of g.nodes) {
    if (!needsRule(n, live) || gradRuleFor(n.opType, n.domain)) continue;
    const k = n.domain ? `${n.domain}:${n.opType}` : n.opType;
    missing.set(k, [...(missing.get(k) ?? []), n.name]);
  }
  const unsupported = [...missing].map(([opType, nodes]) => ({ opType, nodes }));
  return { supported: unsupported.length === 0, unsupported };
}
