import type { Graph, Node } from '../graph.js';

// Remove nodes whose outputs reach no graph output, and initializers nobody reads. Returns whether anything changed.
export function eliminateDeadCode(g: Graph): boolean {
  const live = new Set<Node>();
  const stack = g.outputs.map((v) => v.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const v of n.inputs) if (v?.producer && !live.has(v.producer)) stack.push(v.producer);
  }
  const dead = g.nodes.filter((n) => !live.has(n));
  for (const n of dead) g.removeNode(n);
  const before = g.initializers.length;
  const outs = new Set(g.outputs);
  g.initializers = g.initializers.filter((v) => v.uses.length > 0 || outs.has(v));
  const changed = dead.length > 0 || g.initializers.length !== before;
  if (changed) g.pruneValues();
  return changed;
}
