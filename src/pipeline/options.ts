import type { StageConfig } from '../config/options.js';
import type { AugmentParams } from '../data/augment.js';
import type { MixParams } from '../data/mix.js';

// The options of `distill` (and of its library call `distill()`), keys as in a run config file; every key is
// optional and defaults as `onnx-distill distill --help` says.
export interface DistillOptions extends AugmentParams, MixParams {
  teacher?: string;
  student?: string | string[];
  students?: number;
  freeze?: string;
  method?: string;
  terms?: string | Record<string, number>;
  tau?: number;
  // z-score the logits of the KL-based terms (arXiv 2403.01427): '' or 'all' for every one, else term keys 'kd,dkd'.
  logitStandardize?: string;
  teacherLr?: number;
  kbmTap?: string;
  kbmInit?: 'random' | 'copy';
  mgdVariant?: 'mag' | 'mas';
  proxy?: string;
  stageOptimizer?: 'method' | 'run';
  // Per-stage settings of a staged method, by stage name (config files: `stages:`).
  stages?: Record<string, StageConfig>;
  data?: string;
  input?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: string;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  noDecayBnBias?: boolean;
  schedule?: string;
  warmup?: number;
  lrUpdate?: 'step' | 'epoch';
  bnRecalibrate?: number;
  labelSmoothing?: number;
  valSplit?: number;
  // Unlabeled data (see unlabeled.ts): force it, a labelled validation set, CE on the teacher's argmax.
  unlabeled?: boolean;
  valData?: string;
  pseudoLabels?: boolean;
  augment?: string;
  mean?: string;
  std?: string;
  computeStats?: boolean;
  cropFraction?: number;
  evalResize?: number;
  strict?: boolean;
  device?: string;
  threads?: number;
  seed?: number;
  out?: string;
  resume?: string;
  saveArtifacts?: string;
  teacherCache?: string;
  // Quantisation-aware training of the student (pipeline/qat.ts), with the int8 settings its export shares.
  qat?: boolean;
  calibration?: number;
  calibrate?: string;
  weightBits?: number;
  // --qat: activation ranges tracked by a moving average of batch min/max (the default) or held at the calibrated ones.
  qatRanges?: string;
}
