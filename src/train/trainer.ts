import type { TermSpec } from '../compiler/trainStep.js';
import type { GroupHyper } from '../compiler/optim/index.js';
import type { Model } from '../ir/model.js';
import { runNetworks, type RunRecord } from './loop.js';
import type { ScheduleSpec } from './schedule.js';
import type { DataSplit } from './types.js';

// Everything one supervised training run needs; the CLI builds this from flags.
export interface TrainOptions {
  model: Model;
  train: DataSplit;
  val?: DataSplit;
  classes: string[];
  // How inputs were made (normalisation, size, crop), saved in the exported model's metadata.
  preprocess?: unknown;
  epochs: number;
  batchSize: number;
  schedule: ScheduleSpec;
  optimizer: string;
  hyper: GroupHyper;
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  terms?: TermSpec[];
  device?: string;
  threads?: number;
  seed: number;
  outDir: string;
  resume?: boolean;
  config?: unknown;
  log?: (line: string) => void;
  progress?: boolean;
}

export type { RunRecord } from './loop.js';

// Train one network: the one-network case of the distillation loop (network 'model', terms default to CE),
// exported as model.onnx.
export function train(o: TrainOptions): Promise<RunRecord> {
  const { model, noDecay, terms, preprocess, ...rest } = o;
  return runNetworks({
    ...rest,
    networks: [{ name: 'model', model, role: 'student', trainable: true, ...(noDecay ? { noDecay } : {}) }],
    terms: (terms ?? [{ term: 'ce' }]).map((t) => ({ term: t.term, name: t.name ?? t.term, taps: { logits: 'model.logits' }, weight: 1, ...(t.options ? { options: t.options } : {}) })),
    exports: { files: { model: 'model.onnx' }, ...(preprocess !== undefined ? { preprocess } : {}) },
  });
}
