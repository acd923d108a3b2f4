import type { Tensor } from '../ir/tensor.js';
import type { NetworkSpec } from './network.js';
import type { GroupHyper } from './optim/index.js';

// One use of a loss term in a step: which taps feed its slots (`student.logits`, `teacher.f2`) and its options.
// Its weight is the scalar input `w_<name>`, set by the host each step, so schedules never recompile.
export interface TermUse {
  term: string;
  name: string;
  // Slot name -> tap address `<network>.<tap>`; slots left out read their default tap of the first network given.
  taps: Record<string, string>;
  options?: Record<string, number>;
}

// Everything the compiler needs for a training step of one or more networks (plain parameters, never the CLI config).
export interface StepSpec {
  networks: NetworkSpec[];
  terms: TermUse[];
  batch: number;
  optimizer: string;
  hyper: GroupHyper;
  // Seeds the auxiliary modules' initial weights.
  seed?: number;
  // Also output each parameter's gradient as `grad.<name>` (for checks against a reference).
  exposeGradients?: boolean;
  // Frozen networks not placed: their logits are the step input `cache.<name>.logits` [batch, classes] instead (the
  // teacher cache feeds them). Every use of such a network must be a term's target slot reading its logits.
  logitInputs?: string[];
  // Pseudo-labels: the terms that read labels get this network's argmax (one-hot, no gradient) instead of the
  // `labels` input (noisy or missing labels, a teacher much better than them).
  pseudoLabels?: string;
}

// A tensor the host keeps between steps, by graph-input name; `network` owns it, `source` is its name in that network.
export interface StateEntry {
  name: string;
  shape: number[];
  network: string;
  source: string;
}

// One scalar step input of a term, named `in_<use>.<key>`, with what its schedule needs.
export interface TermInputEntry {
  input: string;
  term: string;
  key: string;
  options: Record<string, number>;
}

// The compiled step: the ONNX bytes plus the contract the host loop follows.
export interface CompiledStep {
  bytes: Uint8Array;
  inputName: string;
  inputShape: number[];
  classes: number;
  params: StateEntry[];
  buffers: StateEntry[];
  slots: (StateEntry & { param: string; slot: string })[];
  // Initial values of params and buffers (slots start at zero).
  initial: Record<string, Tensor>;
  // Step output name -> input name it feeds next step.
  carry: Record<string, string>;
  terms: { name: string; term: string; text: string }[];
  // Per placed network, the step output with its logits on the training batch.
  logits: Record<string, string>;
  // Per network of `logitInputs`, the step input its logits are fed to.
  logitInputs: Record<string, string>;
  // Where the labels the terms read come from: the `labels` input, a network's argmax (pseudo-labels), or nowhere
  // (no term reads labels: the step has no `labels` input).
  labels: { from: 'input' } | { from: 'network'; network: string } | { from: 'none' };
  // Scalar inputs terms read (CTKD's λ): the host feeds termByName(term).inputs[key](epoch, options) each epoch.
  termInputs: TermInputEntry[];
  // Per-batch int64 inputs terms read (CRD's indices): termByName(term).batchInputs[key].make(batch, options).
  batchInputs: TermInputEntry[];
  biasCorrection: boolean;
}
