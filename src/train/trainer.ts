import type { TermSpec } from '../compiler/trainStep.js';
import type { Model } from '../ir/model.js';
import { runNetworks, type RunOptions, type RunRecord } from './loop.js';

// Everything one supervised training run needs; the CLI builds this from flags. The loop's options, with one model
// in place of the networks, terms that default to CE, and the preprocessing recorded in the exported model.
export interface TrainOptions extends Omit<RunOptions, 'networks' | 'terms' | 'exports' | 'ensemble'> {
  model: Model;
  preprocess?: unknown;
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  terms?: TermSpec[];
}

export type { RunRecord } from './loop.js';

// Train one network: the one-network case of the distillation loop (network 'model', terms default to CE),
// exported as model.onnx.
export function train(o: TrainOptions): Promise<RunRecord> {
  const { model, noDecay, terms, preprocess, ...rest } = o;
  return runNetworks({
    ...rest,
    networks: [{ name: 'model', model, role: 'student', trainable: true, ...(noDecay ? { noDecay } : {}) }],
    terms: (terms ?? [{ term: 'ce' }]).map((t) => ({
      term: t.term,
      name: t.name ?? t.term,
      taps: { logits: 'model.logits' },
      weight: 1,
      ...(t.options ? { options: t.options } : {}),
    })),
    exports: { files: { model: 'model.onnx' }, ...(preprocess !== undefined ? { preprocess } : {}) },
  });
}
