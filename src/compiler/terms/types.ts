import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { Rng } from '../../ir/init.js';

// One input of a term. A `target` slot is read through a stop-gradient (the teacher's or a peer's output is a
// constant in this term), so the term's gradient only reaches the networks wired to its non-target slots.
export interface TermSlot {
  name: string;
  target?: boolean;
  // The tap this slot reads when a method does not say (e.g. 'logits', 'f2', 'embedding').
  tap: string;
}

// Trainable pieces a term adds to the step (a FitNets regressor, say): parameters are trained with the networks the
// term's non-target slots belong to; buffers (BatchNorm running statistics) are carried but not trained.
export interface ModuleBuilder {
  param(name: string, init: Tensor): Value;
  buffer(name: string, init: Tensor): Value;
  // Seeded per term use, so a module's initial weights repeat exactly for a seed.
  rng: Rng;
}

// What a loss term is wired to: tapped values by slot name (targets already behind a stop-gradient) and the labels.
export interface TermInputs {
  b: Builder;
  // One-hot labels [N, C] as float32.
  labels: Value;
  taps: Record<string, Value>;
  options: Record<string, number>;
  module: ModuleBuilder;
}

// A loss term: one file per term in this folder, emitting its ONNX subgraph and returning a scalar.
export interface LossTermDef {
  name: string;
  describe: string;
  // Paper id (arXiv) and the formula, for --help and the printed loss.
  paper?: string;
  slots: TermSlot[];
  defaults: Record<string, number>;
  // A short label for the printed loss, e.g. 'τ 4' from the options; optional.
  label?(options: Record<string, number>): string;
  // Check the tapped shapes before building; throw a UserError naming the slots when they cannot be matched.
  check?(shapes: Record<string, number[]>, options: Record<string, number>): void;
  build(inp: TermInputs): Value;
}
