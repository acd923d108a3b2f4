// A batch as the trainer consumes it: NCHW float32 images and integer labels.
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

// One split of a dataset as the trainer sees it; the data layer adapts to this. A batch's arrays may be reused
// once the next batch is requested (the trainer hands them to the session before asking); `skip` starts the
// epoch's order at that batch (resuming mid-epoch) without preparing the ones before.
export interface DataSplit {
  size: number;
  batches(opts: { batchSize: number; epoch: number; seed: number; shuffle: boolean; dropLast: boolean; skip?: number }): AsyncIterable<Batch>;
}

// Per-epoch numbers recorded in run.json and the checkpoint.
export interface EpochRecord {
  epoch: number;
  lr: number;
  loss: number;
  terms: Record<string, number>;
  trainAcc: number;
  valAcc?: number;
  seconds: number;
  imagesPerSecond: number;
  // Of `seconds`, the time the training step waited for the loader's next batch.
  dataWaitSeconds: number;
}
