// A batch as the trainer consumes it: NCHW float32 images and integer labels; `indices` says which samples of the
// split they are (the teacher cache needs it).
export interface Batch {
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
export interface DataSplit {
  size: number;
  batches(opts: { batchSize: number; epoch: number; seed: number; shuffle: boolean; dropLast: boolean; skip?: number }): AsyncIterable<Batch>;
  // Everything besides (seed, epoch, sample) that a sample's training pixels depend on, as a hash: a split that
  // promises this (and gives batch `indices`) lets a frozen teacher's outputs be cached; one without it never is.
  identity?(): string;
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
