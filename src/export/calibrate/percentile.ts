import type { Calibrator, TensorStats } from './types.js';

// Share of values allowed to clip on each side.
const TAIL = 1e-4;

// The value below which a share `q` of the histogram's mass lies (linear inside the bin).
export function quantile(s: TensorStats, q: number): number {
  const h = s.hist!;
  const total = h.reduce((a, b) => a + b, 0);
  const width = (s.max - s.min) / h.length;
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    if (acc + h[i]! >= q * total) return s.min + (i + (h[i]! ? (q * total - acc) / h[i]! : 0)) * width;
    acc += h[i]!;
  }
  return s.max;
}

// The 0.01% and 99.99% quantiles: rare outliers clip so the common values get finer steps.
export const calibrator: Calibrator = {
  name: 'percentile',
  describe: '0.01% / 99.99% quantiles',
  histogram: true,
  range: (s) => (s.max <= s.min ? [s.min, s.max] : [s.min >= 0 ? s.min : quantile(s, TAIL), quantile(s, 1 - TAIL)]),
};
