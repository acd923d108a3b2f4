import type { Calibrator } from './types.js';

// The observed extremes: no value clips, but one outlier stretches the scale for all (onnxruntime's default).
export const calibrator: Calibrator = {
  name: 'minmax',
  describe: 'smallest and largest value seen',
  histogram: false,
  range: (s) => [s.min, s.max],
};
