import type { Graph, Node } from '../graph.js';

// Order nodes so every producer comes before its uses (Kahn's algorithm, stable on file order).
export function topoSort(g: Graph): boolean {
  const indeg = new Map<Node, number>();
  for (const n of g.nodes) {
    indeg.set(n, n.inputs.filter((v) => v?.producer).length);
  }
  const ready = g.nodes.filter((n) => indeg.get(n) === 0);
  const order: Node[] = [];
  const pos = new Map(g.nodes.map((n, i) => [n, i]));
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    const next: Node[] = [];
    for (const o of n.outputs) {
      for (const u of o.uses) {
        const d = indeg.get(u.node)! - 1;
        indeg.set(u.node, d);
        if (d === 0) next.push(u.node);
      }
    }
    next.sort((a, b) => pos.get(a)! - pos.get(b)!);
    ready.push(...next);
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.find((n) => !order.includes(n));
    throw new Error(`graph '${g.name}' has a cycle (at ${stuck?.label ?? 'unknown node'})`);
  }
  const modified = order.some((n, i) => n !== g.nodes[i]);
  g.nodes = order;
  return modified;
}
