// What calibration observed of one activation tensor over the calibration images.
export interface TensorStats {
  min: number;
  max: number;
  // Counts of values in `bins` equal-width bins over [min, max] (second pass; only for calibrators that ask).
  hist?: Float64Array;
}

// A calibrator turns a tensor's statistics into the [lo, hi] range its int8 scale covers (`--calibrate`).
export interface Calibrator {
  name: string;
  describe: string;
  // Whether it reads the histogram (a second pass over the calibration images).
  histogram: boolean;
  range(s: TensorStats): [number, number];
}

// Bins of the calibration histogram: TensorRT's and onnxruntime's entropy calibrators use 2048.
export const HIST_BINS = 2048;
