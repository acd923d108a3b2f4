import { placeNetwork, type NetworkSpec } from '../compiler/network.js';
import { Graph } from '../ir/graph.js';

// The 4-D stage taps (f1.., stem excluded) of each network, found at batch 1, for methods that pair stages.
export function stageTaps(networks: NetworkSpec[]): (name: string) => string[] {
  const found = new Map<string, string[]>();
  for (const n of networks) {
    const g = new Graph('probe');
    const x = g.value('input', { dtype: 'float32', shape: [1] });
    const placed = placeNetwork(g, x, { ...n, trainable: false }, { mode: 'infer', batch: 1 });
    found.set(n.name, (placed.taps?.stages ?? []).filter((t) => t.shape?.length === 4).map((t) => t.name));
  }
  return (name) => found.get(name) ?? [];
}
