import { placeNetwork, type NetworkSpec } from '../compiler/network.js';
import { Graph } from '../ir/graph.js';

// The feature taps methods pair, per network: 4-D stage maps (f1.., stem excluded) and a transformer's token maps (b1..).
export interface FeatureTaps {
  stages(name: string): string[];
  blocks(name: string): string[];
}

// Each network's feature taps, found at batch 1.
export function featureTaps(networks: NetworkSpec[]): FeatureTaps {
  const stages = new Map<string, string[]>();
  const blocks = new Map<string, string[]>();
  for (const n of networks) {
    const g = new Graph('probe');
    const x = g.value('input', { dtype: 'float32', shape: [1] });
    const placed = placeNetwork(g, x, { ...n, trainable: false }, { mode: 'infer', batch: 1 });
    stages.set(
      n.name,
      (placed.taps?.stages ?? []).filter((t) => t.shape?.length === 4).map((t) => t.name),
    );
    blocks.set(
      n.name,
      (placed.taps?.blocks ?? []).map((t) => t.name),
    );
  }
  return { stages: (name) => stages.get(name) ?? [], blocks: (name) => blocks.get(name) ?? [] };
}

// The 4-D stage taps of each network (methods that only pair stages).
export function stageTaps(networks: NetworkSpec[]): (name: string) => string[] {
  return featureTaps(networks).stages;
}
