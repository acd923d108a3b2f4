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
  // A buffer whose value after the step is `next` (CRD's memory bank): carried between steps and checkpointed.
  carry(buffer: Value, next: Value): void;
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
  // A stop-gradient mark: the returned value equals v and passes no gradient back (a term's own sg(·)).
  stop(v: Value): Value;
  // The scalar step input of one of the term's `inputs` (set by the host each epoch from that schedule).
  input(key: string): Value;
  // The step input of one of the term's `batchInputs` (made by the host for each batch).
  batchInput(key: string): Value;
}

// What the host knows of a batch when it makes a term's batch input.
export interface BatchContext {
  // Which samples of the training split the batch holds, and their labels.
  indices: Int32Array;
  labels: Int32Array;
  // The training split's size and, when the split can say, the label of any sample.
  size: number;
  labelOf?: (i: number) => number;
  seed: number;
  // Optimizer steps done before this one (seeds per-step sampling).
  step: number;
}

// A per-batch int64 input of a term (CRD's sample and negative indices): its shape and how the host fills it.
export interface BatchInputDef {
  // What the host puts in it, for the artifacts' contract (a loop outside onnx-distill must make it).
  describe: string;
  shape(batch: number, options: Record<string, number>): number[];
  make(ctx: BatchContext, options: Record<string, number>): BigInt64Array;
}

// A scalar the host feeds a term each epoch (CTKD's gradient-reversal weight λ): its value in an epoch counted from 0.
export type TermInputSchedule = (epoch: number, options: Record<string, number>) => number;

// A loss term: one file per term in this folder, emitting its ONNX subgraph and returning a scalar.
export interface LossTermDef {
  name: string;
  describe: string;
  // Paper id (arXiv) and the formula, for --help and the printed loss.
  paper?: string;
  slots: TermSlot[];
  // Reads the labels (CE, DKD's target mask): left out on unlabeled data unless the teacher's argmax stands in.
  needsLabels?: boolean;
  defaults: Record<string, number>;
  // A short label for the printed loss, e.g. 'τ 4' from the options; optional.
  label?(options: Record<string, number>): string;
  // Check the tapped shapes before building; throw a UserError naming the slots when they cannot be matched.
  check?(shapes: Record<string, number[]>, options: Record<string, number>): void;
  // Scalar inputs of the step this term reads through `input(key)`, with their per-epoch schedules (none recompiles).
  inputs?: Record<string, TermInputSchedule>;
  // Per-batch int64 inputs this term reads through `batchInput(key)`.
  batchInputs?: Record<string, BatchInputDef>;
  build(inp: TermInputs): Value;
}
