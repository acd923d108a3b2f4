// The inputs of the report layer: one row per evaluated model file, and per-epoch training history.
import type { Format } from '../export/formats/index.js';

export type ReportRole = 'teacher' | 'student' | 'ensemble';
export type ReportFormat = Format;

// One evaluated model file (report.json's `rows`): the teacher, each exported student, or an ensemble.
export interface ReportRow {
  model: string;
  role: ReportRole;
  format: ReportFormat;
  // Path of the .onnx file as the user should see it (relative to --out where it lies inside it).
  file: string;
  // Top-1 accuracy as a fraction in [0, 1].
  accuracy: number;
  sizeBytes: number;
  params: number;
  macs: number;
  // Median latency of one forward pass at batch 1 and at batch 32 (the whole batch), in milliseconds.
  latencyMsBatch1: number;
  latencyMsBatch32: number;
  // Top-5 accuracy as a fraction, where the class count makes it meaningful.
  top5?: number;
  // A short free-text remark shown in report.md (e.g. "calibrated on 512 images").
  notes?: string;
}

// What one network scored in one epoch; any value may be missing or NaN (it is then left out of the plot).
export interface EpochNetworkStats {
  valAcc?: number;
  trainAcc?: number;
  // Top-1 agreement with the teacher on held-out images (distillation from unlabeled data).
  agreement?: number;
  loss?: number;
}

// One epoch of a (distillation) run: accuracy per network, the value of each loss term, the ensemble's accuracy.
export interface CurveEpoch {
  epoch: number;
  networks: Record<string, EpochNetworkStats>;
  terms: Record<string, number>;
  ensembleValAcc?: number;
  ensembleAgreement?: number;
}

// Training curves input: epochs in any order (they are plotted by `epoch`).
export type TrainingHistory = CurveEpoch[];

// fp32, post-training int8 and quantisation-aware int8 of one student, side by side (compress --qat / --max-int8-drop):
// top-1 as fractions, the fine-tune's epochs and lr, what triggered it, and its run folder.
export interface QuantizationSummary {
  model: string;
  trigger: 'qat' | 'max-int8-drop';
  epochs: number;
  lr: number;
  maxInt8Drop?: number;
  fp32?: number;
  ptq?: number;
  qat?: number;
  run: string;
}
