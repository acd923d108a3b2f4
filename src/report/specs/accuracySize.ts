import type { TopLevelSpec } from 'vega-lite';
import type { ReportRow } from '../types.js';
import { tradeoffSpec, type TradeoffOptions } from './tradeoff.js';

// Accuracy against file size (MiB, log scale): what each export costs in storage.
export function accuracySizeSpec(rows: ReportRow[], o: Partial<Omit<TradeoffOptions, 'x'>> = {}): TopLevelSpec {
  return tradeoffSpec(rows, {
    title: 'Accuracy vs model size',
    subtitle: 'teacher and every export; x is log scale',
    ...o,
    x: { value: (r) => r.sizeBytes / 2 ** 20, title: 'Model file size (MiB, log scale)' },
  });
}
