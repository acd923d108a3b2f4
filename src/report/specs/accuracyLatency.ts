import type { TopLevelSpec } from 'vega-lite';
import type { ReportRow } from '../types.js';
import { tradeoffSpec, type TradeoffOptions } from './tradeoff.js';

// Accuracy against batch-1 latency (ms, log scale): the edge-inference trade-off the students are exported for.
export function accuracyLatencySpec(rows: ReportRow[], o: Partial<Omit<TradeoffOptions, 'x'>> = {}): TopLevelSpec {
  return tradeoffSpec(rows, {
    title: 'Accuracy vs latency',
    subtitle: 'median time of one forward pass at batch 1; x is log scale',
    ...o,
    x: { value: (r) => r.latencyMsBatch1, title: 'Latency at batch 1 (ms, log scale)' },
  });
}
