import type { Model } from '../ir/model.js';
import type { GroupHyper } from './optim/index.js';
import { compileStep, type CompiledStep } from './step.js';

// One weighted loss term of a single-network step, reading that network's taps by default.
export interface TermSpec {
  term: string;
  name?: string;
  options?: Record<string, number>;
}

// A single-network training step (what `train` runs): the one-network case of compileStep, network name 'model'.
export interface TrainStepSpec {
  model: Model;
  batch: number;
  terms: TermSpec[];
  optimizer: string;
  hyper: GroupHyper;
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  exposeGradients?: boolean;
}

// Compile one network's step; state names are prefixed `model/` like every network's.
export function compileTrainStep(spec: TrainStepSpec): CompiledStep {
  return compileStep({
    networks: [
      {
        name: 'model',
        model: spec.model,
        role: 'student',
        trainable: true,
        ...(spec.noDecay ? { noDecay: spec.noDecay } : {}),
      },
    ],
    terms: spec.terms.map((t) => ({
      term: t.term,
      name: t.name ?? t.term,
      taps: { logits: 'model.logits' },
      ...(t.options ? { options: t.options } : {}),
    })),
    batch: spec.batch,
    optimizer: spec.optimizer,
    hyper: spec.hyper,
    ...(spec.exposeGradients ? { exposeGradients: true } : {}),
  });
}
export type { CompiledStep, StateEntry } from './step.js';
