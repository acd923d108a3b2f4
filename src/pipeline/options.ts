import type { StageConfig } from '../config/options.js';

// The options of `distill` (and of its library call `distill()`), keys as in a run config file; every key is
// optional and defaults as `onnx-distill distill --help` says.
export interface DistillOptions {
  teacher?: string;
  student?: string | string[];
  students?: number;
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
  labelSmoothing?: number;
  valSplit?: number;
  augment?: string;
  mean?: string;
  std?: string;
  computeStats?: boolean;
  cropFraction?: number;
  strict?: boolean;
  device?: string;
  threads?: number;
  seed?: number;
  out?: string;
  resume?: string;
  saveArtifacts?: string;
  teacherCache?: string;
}
