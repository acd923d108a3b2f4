import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';

// Scalar hyper-parameters fed as graph inputs each step, so schedules never recompile the graph.
export interface StepScalars {
  lr: Value;
  // Adam bias corrections 1 - beta^t, computed on the host from the step count.
  bc1?: Value;
  bc2?: Value;
}

// Per-parameter-group constants baked into the graph.
export interface GroupHyper {
  weightDecay: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  eps: number;
}

// An optimizer as an update subgraph with PyTorch's exact semantics; one file per optimizer in this folder.
export interface OptimizerDef {
  name: string;
  // Names of the per-parameter state slots (e.g. ['momentum'] or ['exp_avg', 'exp_avg_sq']).
  slots: string[];
  // Whether bc1/bc2 scalars are needed.
  biasCorrection: boolean;
  update(
    b: Builder,
    p: Value,
    g: Value,
    state: Value[],
    s: StepScalars,
    h: GroupHyper,
  ): { param: Value; state: Value[] };
}
