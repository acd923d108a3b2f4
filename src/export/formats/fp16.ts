import { toFloat16 } from '../fp16.js';
import type { ExportFormat } from './types.js';

// Half-size weights and activations (Softmax and friends kept in float32): within 1% of the logit scale.
export const format: ExportFormat = {
  name: 'fp16',
  order: 1,
  criteria: { tolerance: 1e-2 },
  marker: 'square',
  convert: async (model, { options }) => ({ model: toFloat16(model, options.io ?? 'fp32') }),
};
