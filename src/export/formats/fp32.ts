import type { ExportFormat } from './types.js';

// The cleaned float32 graph itself: a rewrite that must match the source to float rounding.
export const format: ExportFormat = {
  name: 'fp32',
  order: 0,
  criteria: { tolerance: 1e-4 },
  marker: 'circle',
  convert: async (model) => ({ model }),
};
