import type { NetworkSpec } from '../compiler/network.js';
import type { GroupHyper } from '../compiler/optim/index.js';
import type { RunTerm } from '../methods/types.js';
import type { ScheduleSpec } from './schedule.js';
import type { TensorData } from '../runtime/tensor.js';

// A batch as the trainer consumes it: NCHW float32 images and integer labels; `indices` says which samples of the
// split they are (the teacher cache needs it).
export interface TrainBatch {
  x: Float32Array;
  y: Int32Array;
  n: number;
  indices?: Int32Array;
  // Mixup / CutMix: the images were mixed with partners labelled y2; targets λ·onehot(y) + (1 - λ)·onehot(y2).
  mix?: { y2: Int32Array; lam: number };
}

// One split of a dataset as the trainer sees it; the data layer adapts to this. A batch's arrays may be reused
// once the next batch is requested (the trainer hands them to the session before asking); `skip` starts the
// epoch's order at that batch (resuming mid-epoch) without preparing the ones before.
export interface TrainSplit {
  size: number;
  batches(opts: {
    batchSize: number;
    epoch: number;
    seed: number;
    shuffle: boolean;
    dropLast: boolean;
    skip?: number;
  }): AsyncIterable<TrainBatch>;
  // Everything besides (seed, epoch, sample) that a sample's training pixels depend on, as a hash: a split that
  // promises this (and gives batch `indices`) lets a frozen teacher's outputs be cached; one without it never is.
  identity?(): string;
  // The label of any sample, when the split is labelled (CRD draws its negatives from other classes).
  labelOf?(i: number): number;
}

// Per-network figures of one epoch.
export interface NetworkEpoch {
  trainAcc?: number;
  valAcc?: number;
  // Fidelity to the teacher on held-out unlabeled images: top-1 agreement and mean KL(teacher ‖ network).
  agreement?: number;
  kl?: number;
}

// Per-epoch numbers recorded in run.json and the checkpoint.
export interface EpochRecord {
  epoch: number;
  lr: number;
  // The weighted total loss, mean over the epoch's batches.
  loss: number;
  // Each term's unweighted value and the weight it had this epoch.
  terms: Record<string, number>;
  weights: Record<string, number>;
  networks: Record<string, NetworkEpoch>;
  ensembleValAcc?: number;
  ensembleAgreement?: number;
  // The first trainable network's accuracies (the only network of `train`); on unlabeled data trainAcc is its
  // agreement with the teacher on the training batches.
  trainAcc: number;
  valAcc?: number;
  agreement?: number;
  kl?: number;
  seconds: number;
  imagesPerSecond: number;
  // Of `seconds`, the time the training step waited for the loader's next batch.
  dataWaitSeconds: number;
  // With the teacher cache: batches whose teacher logits were replayed (hits) or computed and stored (misses).
  teacherCache?: { hits: number; misses: number };
}

// Which frozen networks a run replays from the cache, and why each other one runs in the step.
export interface CachePlan {
  replay: string[];
  bypassed: { network: string; reason: string }[];
}

// What a run writes when it ends: which trained networks go to which file, and what their metadata says.
export interface ExportSpec {
  // Network name -> file name in the run folder (e.g. { student: 'student.onnx' }).
  files: Record<string, string>;
  // How inputs were made (normalisation, size, crop), saved in each model's metadata.
  preprocess?: unknown;
  // Extra metadata entries (method, the teacher's hash).
  metadata?: Record<string, string>;
  // Entries for one network's file only, by network name, made from its trained state by source name (a QAT
  // student's int8 record with the activation ranges it ended with).
  networkMetadata?: Record<string, (trained: Record<string, TensorData>) => Record<string, string>>;
  // The file for the students' ensemble (mean of their softmax), when the run has one.
  ensembleFile?: string;
  // Networks exported together with the networks that feed them, as one model (SOKD's teacher-kbm.onnx): name -> file.
  composed?: Record<string, string>;
}

// Everything one training run of one or more networks needs; `train` and `distill` both build this.
export interface RunOptions {
  networks: NetworkSpec[];
  terms: RunTerm[];
  train: TrainSplit;
  val?: TrainSplit;
  classes: string[];
  epochs: number;
  batchSize: number;
  schedule: ScheduleSpec;
  optimizer: string;
  hyper: GroupHyper;
  // Students averaged into the ensemble (evaluated each epoch, exported as ensemble.onnx).
  ensemble?: string[];
  exports: ExportSpec;
  // Also write the compiled graphs, initial state and JSON contract here (see artifacts.ts).
  saveArtifacts?: string;
  device?: string;
  threads?: number;
  seed: number;
  outDir: string;
  resume?: boolean;
  // Folder of the teacher cache (replay frozen teachers' logits; see teacherCache.ts); undefined: off.
  teacherCache?: string;
  // Re-estimate the BatchNorm statistics on this many training batches before export (recalibrate.ts); 0/undefined: off.
  bnRecalibrate?: number;
  // Unlabeled training data: no labels are fed, and training accuracy is agreement with `fidelity.reference`.
  unlabeled?: boolean;
  // Fidelity to a reference network (the teacher), measured each epoch on this split: top-1 agreement and KL.
  fidelity?: { reference: string; split: TrainSplit };
  // Terms that read labels get this network's argmax instead (StepSpec.pseudoLabels).
  pseudoLabels?: string;
  // The stage of a staged run this is (recorded in the checkpoint; --resume must continue the same stage).
  stage?: string;
  config?: unknown;
  // This run's id (config.yaml's, for distill); a new one when unset, the checkpoint's when resuming.
  runId?: string;
  log?: (line: string) => void;
  progress?: boolean;
}

// Per network, the summary `--json` and run.json report.
export interface NetworkSummary {
  name: string;
  role: NetworkSpec['role'];
  trainable: boolean;
  params: number;
  bestValAcc?: number;
  bestEpoch?: number;
  lastValAcc?: number;
  // With fidelity measured (unlabeled data): agreement with the teacher, best and last, and the last KL.
  bestAgreement?: number;
  bestAgreementEpoch?: number;
  lastAgreement?: number;
  lastKl?: number;
}

// The JSON record of a run (run.json).
export interface RunRecord {
  config: unknown;
  device: string;
  compileSeconds: number;
  loss: string;
  history: EpochRecord[];
  networks: NetworkSummary[];
  ensemble: { bestValAcc: number; bestEpoch: number; lastValAcc: number } | null;
  // The first trainable network's figures, for single-network readers.
  bestValAcc?: number;
  bestEpoch?: number;
  lastValAcc?: number;
  // The first trainable network's fidelity to the teacher (unlabeled data), on `split` images.
  fidelity?: {
    reference: string;
    images: number;
    bestAgreement: number;
    bestEpoch: number;
    lastAgreement: number;
    lastKl: number;
  };
  outputs: Record<string, string>;
  interrupted: boolean;
  // The run that wrote this record, its checkpoint and config.yaml.
  runId?: string;
  // With --teacher-cache: the cache folder of each replayed network, and why the others ran in the step.
  teacherCache?: { dirs: Record<string, string>; bypassed: CachePlan['bypassed'] };
  // With --bn-recalibrate: the batches averaged and the validation accuracy with the re-estimated statistics.
  bnRecalibrated?: Recalibration;
}

// What --bn-recalibrate did: the batches averaged, and the validation accuracy of each network (and the ensemble)
// with the re-estimated statistics.
export interface Recalibration {
  batches: number;
  networks: Record<string, number>;
  ensemble?: number;
  valAcc?: number;
}
