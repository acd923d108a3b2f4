import { join } from 'node:path';
import { Builder } from '../ir/builder.js';
import { Graph } from '../ir/graph.js';
import { newModel, serializeModel } from '../ir/model.js';
import type { CompiledStep } from '../compiler/step.js';
import { writeFileAtomic } from '../util/fs.js';
import type { RunOptions } from './types.js';
import { lrAt } from './schedule.js';
import { weightAt } from '../methods/weights.js';
import { termByName, termInputAt } from '../compiler/terms/index.js';

// The JSON contract beside the artifacts: everything a plain onnxruntime loop in any language needs to repeat the run.
export interface ArtifactContract {
  format: 'onnx-distill-training-artifacts/1';
  step: {
    file: string;
    image: { input: string; shape: number[]; layout: 'NCHW float32, normalised as preprocess says' };
    // Absent when no term reads labels from the host (unlabeled data, or pseudo-labels made in the step).
    labels?: { input: string; shape: number[]; encoding: 'one-hot float32' };
    pseudoLabels?: string;
    lr: { input: string; schedule: unknown; perStep: number[] };
    biasCorrection?: { bc1: string; bc2: string; rule: string };
    termWeights: { input: string; term: string; weight: number; schedule: unknown; perEpoch: number[] }[];
    // Scalar inputs of terms (CTKD's gradient-reversal weight), per epoch.
    termInputs?: { input: string; term: string; key: string; perEpoch: number[] }[];
    // Per-batch int64 inputs of terms (CRD's sample indices and negatives), made by the loop for every batch.
    batchInputs?: { input: string; term: string; key: string; shape: number[]; dtype: 'int64'; fill: string }[];
    // Step output -> the input it feeds on the next step (weights, optimizer slots, BatchNorm statistics).
    carry: Record<string, string>;
    report: { loss: string; terms: Record<string, string>; logits: Record<string, string> };
  };
  eval: { file: string; image: string; outputs: string[]; stateInputs: string[] };
  initialState: { file: string; note: string; names: string[]; zeroSlots: { name: string; shape: number[] }[] };
  optimizer: { name: string; hyper: unknown };
  epochs: number;
  batchSize: number;
  stepsPerEpoch: number;
  preprocess?: unknown;
}

// Write what the run executes: the step and evaluation graphs, the initial state (an ONNX model with no inputs whose
// outputs are the state tensors) and the contract.
export function writeArtifacts(
  dir: string,
  o: RunOptions,
  step: CompiledStep,
  evalGraph: { bytes: Uint8Array; stateNames: string[]; outputs: string[] },
): ArtifactContract {
  writeFileAtomic(join(dir, 'train_step.onnx'), step.bytes);
  writeFileAtomic(join(dir, 'eval.onnx'), evalGraph.bytes);
  const g = new Graph('initial_state');
  const b = new Builder(g);
  const names = [...step.params, ...step.buffers].map((e) => e.name);
  g.outputs = names.map((n) => b.identity(g.addInitializer(`init/${n}`, step.initial[n]!), n));
  writeFileAtomic(join(dir, 'initial_state.onnx'), serializeModel(newModel(g, 18)).onnx);
  const contract: ArtifactContract = {
    format: 'onnx-distill-training-artifacts/1',
    step: {
      file: 'train_step.onnx',
      image: { input: step.inputName, shape: step.inputShape, layout: 'NCHW float32, normalised as preprocess says' },
      ...(step.labels.from === 'input'
        ? { labels: { input: 'labels', shape: [step.inputShape[0]!, step.classes], encoding: 'one-hot float32' } }
        : {}),
      ...(step.labels.from === 'network'
        ? {
            pseudoLabels: `the terms that read labels get onehot(argmax) of ${step.labels.network}'s logits, made in the step`,
          }
        : {}),
      lr: { input: 'lr', schedule: o.schedule, perStep: lrPerStep(o) },
      ...(step.biasCorrection
        ? {
            biasCorrection: {
              bc1: 'bc1',
              bc2: 'bc2',
              rule: 'bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, t = optimizer steps done + 1',
            },
          }
        : {}),
      termWeights: o.terms.map((t) => ({
        input: `w_${t.name}`,
        term: t.term,
        weight: t.weight,
        schedule: t.schedule ?? { kind: 'constant' },
        perEpoch: Array.from({ length: o.epochs }, (_, e) => weightAt(t.weight, t.schedule, e)),
      })),
      ...(step.termInputs.length
        ? {
            termInputs: step.termInputs.map((e) => ({
              input: e.input,
              term: e.term,
              key: e.key,
              perEpoch: Array.from({ length: o.epochs }, (_, ep) => termInputAt(e, ep)),
            })),
          }
        : {}),
      ...(step.batchInputs.length
        ? {
            batchInputs: step.batchInputs.map((e) => {
              const d = termByName(e.term).batchInputs![e.key]!;
              return {
                input: e.input,
                term: e.term,
                key: e.key,
                shape: d.shape(step.inputShape[0]!, e.options),
                dtype: 'int64' as const,
                fill: d.describe,
              };
            }),
          }
        : {}),
      carry: step.carry,
      report: {
        loss: 'loss',
        terms: Object.fromEntries(step.terms.map((t) => [t.name, `term_${t.name}`])),
        logits: step.logits,
      },
    },
    eval: { file: 'eval.onnx', image: 'input', outputs: evalGraph.outputs, stateInputs: evalGraph.stateNames },
    initialState: {
      file: 'initial_state.onnx',
      names,
      zeroSlots: step.slots.map((s) => ({ name: s.name, shape: s.shape })),
      note: 'run it with no inputs: each output is the starting value of the step input of the same name; the optimizer slots in zeroSlots start at zero',
    },
    optimizer: { name: o.optimizer, hyper: o.hyper },
    epochs: o.epochs,
    batchSize: o.batchSize,
    stepsPerEpoch: Math.floor(o.train.size / o.batchSize),
    ...(o.exports.preprocess !== undefined ? { preprocess: o.exports.preprocess } : {}),
  };
  writeFileAtomic(join(dir, 'contract.json'), JSON.stringify(contract, null, 2));
  return contract;
}

// The learning rate of every step of the run, as the loop feeds it (fractional epochs for warm-up).
function lrPerStep(o: RunOptions): number[] {
  const steps = Math.floor(o.train.size / o.batchSize);
  return Array.from({ length: o.epochs * steps }, (_, k) =>
    lrAt(o.schedule, Math.floor(k / steps) + (k % steps) / steps),
  );
}
