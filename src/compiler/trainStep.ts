import { backward } from '../autodiff/backward.js';
import { Builder } from '../ir/builder.js';
import type { Graph, Value } from '../ir/graph.js';
import { Model, parseModel, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../zoo/init.js';
import { expandTrainingBatchNorm, toTrainingBatchNorm } from './bnTrain.js';
import { termByName } from './losses/index.js';
import { upgradeToOpset18, TRAIN_OPSET } from './opset.js';
import { optimizerByName, type GroupHyper } from './optim/index.js';
import { classifyInitializers, liftToInputs, normAndBiasParams } from './params.js';

// One weighted loss term of a step: the weight is a graph input `w_<name>` so schedules never recompile.
export interface TermSpec {
  term: string;
  name?: string;
  options?: Record<string, number>;
}

// Everything the compiler needs for a single-network training step (plain parameters, never the CLI config).
export interface TrainStepSpec {
  model: Model;
  batch: number;
  terms: TermSpec[];
  optimizer: string;
  hyper: GroupHyper;
  // Parameters that get no weight decay: 'norm-and-bias' (BatchNorm scale/shift and biases, found by slot) or a predicate.
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  // Also output each parameter's gradient as `grad.<name>` (for checks against a reference).
  exposeGradients?: boolean;
}

// A tensor the host keeps between steps, by graph-input name.
export interface StateEntry {
  name: string;
  shape: number[];
}

// The compiled step: the ONNX bytes plus the contract the host loop follows.
export interface CompiledStep {
  bytes: Uint8Array;
  inputName: string;
  params: StateEntry[];
  buffers: StateEntry[];
  slots: (StateEntry & { param: string; slot: string })[];
  // Step output name -> input name it feeds next step.
  carry: Record<string, string>;
  termNames: string[];
  classes: number;
  inputShape: number[];
  biasCorrection: boolean;
}

// Deep-copy a model's graph through its bytes (the compiler never mutates the caller's model).
export function copyGraph(model: Model): Graph {
  return parseModel(serializeModel(model).onnx).graph;
}

// The single image input of a classifier graph, or a clear error.
export function imageInput(g: Graph): Value {
  const ins = g.inputs.filter((v) => !v.constant);
  if (ins.length !== 1) throw new UserError(`the model must have exactly one image input; it has ${ins.length} (${ins.map((v) => v.name).join(', ')})`);
  return ins[0]!;
}

// The step graph being assembled: new inputs the host feeds, and outputs that either report (loss, logits) or carry state.
class StepGraph {
  readonly b: Builder;
  readonly outputs: Value[] = [];
  readonly carry: Record<string, string> = {};

  constructor(readonly g: Graph) {
    this.b = new Builder(g, 'train');
  }

  input(name: string, shape: number[]): Value {
    const v = this.g.value(name, { dtype: 'float32', shape });
    this.g.inputs.push(v);
    return v;
  }

  report(v: Value, name: string): void {
    this.outputs.push(this.b.identity(v, name));
  }

  // An output fed back as input `into` on the next step.
  carryOut(v: Value, name: string, into: string): void {
    this.report(v, name);
    this.carry[name] = into;
  }
}

// Copy the network, give it the fixed training input shape and infer every static shape; returns the image input and logits.
function prepareForward(spec: TrainStepSpec): { g: Graph; x: Value; logits: Value; inputShape: number[] } {
  const g = copyGraph(spec.model);
  upgradeToOpset18(g);
  const x = imageInput(g);
  const dims = x.type?.shape ?? [];
  const inputShape = [spec.batch, ...dims.slice(1).map((d) => (typeof d === 'number' ? d : NaN))];
  if (inputShape.some((d) => !Number.isFinite(d))) throw new UserError(`input '${x.name}' has symbolic spatial dims ${JSON.stringify(dims)}; give a fixed input size`);
  inferShapes(g, { inputShapes: { [x.name]: inputShape }, fold: true });
  const logits = g.outputs[0]!;
  if (logits.rank !== 2) throw new UserError(`the model's first output '${logits.name}' must be logits [N, classes]; it is ${JSON.stringify(logits.shape)}`);
  return { g, x, logits, inputShape };
}

// The weighted sum of loss terms; each weight is a scalar input `w_<name>`.
function addLoss(sg: StepGraph, spec: TrainStepSpec, logits: Value, labels: Value): { loss: Value; termNames: string[] } {
  const weighted = spec.terms.map((t) => {
    const def = termByName(t.term);
    const name = t.name ?? t.term;
    const module = { param: () => { throw new Error('auxiliary modules need the multi-network step'); }, buffer: () => { throw new Error('auxiliary modules need the multi-network step'); }, rng: new Rng(0) };
    const value = def.build({ b: sg.b.scoped(name), labels, taps: { [def.slots[0]!.name]: logits }, options: { ...def.defaults, ...t.options }, module });
    return { name, value, w: sg.input(`w_${name}`, []) };
  });
  const loss = weighted.map((t) => sg.b.mul(t.value, t.w)).reduce((a, c) => sg.b.add(a, c));
  sg.report(loss, 'loss');
  for (const t of weighted) sg.report(t.value, `term_${t.name}`);
  return { loss, termNames: weighted.map((t) => t.name) };
}

// One optimizer update per parameter: new weights and slot states carried to the next step.
function addUpdates(sg: StepGraph, spec: TrainStepSpec, params: Value[], grads: Map<Value, Value>, noDecay: (name: string) => boolean): { slots: CompiledStep['slots']; biasCorrection: boolean } {
  const opt = optimizerByName(spec.optimizer);
  const lr = sg.input('lr', []);
  const bc = opt.biasCorrection ? { bc1: sg.input('bc1', []), bc2: sg.input('bc2', []) } : {};
  const slots: CompiledStep['slots'] = [];
  for (const p of params) {
    const grad = grads.get(p);
    if (!grad) throw new UserError(`parameter '${p.name}' gets no gradient from the loss; freeze it or check the graph`);
    if (spec.exposeGradients) sg.report(grad, `grad.${p.name}`);
    const state = opt.slots.map((s) => {
      slots.push({ name: `${p.name}.${s}`, shape: p.shape, param: p.name, slot: s });
      return sg.input(`${p.name}.${s}`, p.shape);
    });
    const hyper = noDecay(p.name) ? { ...spec.hyper, weightDecay: 0 } : spec.hyper;
    const upd = opt.update(sg.b.scoped(p.name), p, grad, state, { lr, ...bc }, hyper);
    sg.carryOut(upd.param, `${p.name}.new`, p.name);
    upd.state.forEach((v, i) => sg.carryOut(v, `${state[i]!.name}.new`, state[i]!.name));
  }
  return { slots, biasCorrection: opt.biasCorrection };
}

// Compile forward + loss + backward + optimizer update into one ONNX graph of standard ops.
export function compileTrainStep(spec: TrainStepSpec): CompiledStep {
  const { g, x, logits, inputShape } = prepareForward(spec);
  const classes = logits.shape[1]!;
  const { params, buffers } = classifyInitializers(g);
  const exempt = spec.noDecay === 'norm-and-bias' ? normAndBiasParams(g) : undefined;
  const noDecay = (name: string) => (exempt ? exempt.has(name) : typeof spec.noDecay === 'function' ? spec.noDecay(name) : false);
  const bns = toTrainingBatchNorm(g);
  liftToInputs(g, [...params, ...buffers]);
  const sg = new StepGraph(g);
  const labels = sg.input('labels', [spec.batch, classes]);
  const { loss, termNames } = addLoss(sg, spec, logits, labels);
  sg.report(logits, 'logits_out');
  const grads = backward(g, { loss, wrt: params });
  const { slots, biasCorrection } = addUpdates(sg, spec, params, grads, noDecay);
  const bufferSet = new Set(buffers);
  for (const bn of bns) {
    for (const [stat, upd] of [[bn.runningMean, bn.newMean], [bn.runningVar, bn.newVar]] as const) {
      if (bufferSet.has(stat)) sg.carryOut(upd, `${stat.name}.updated`, stat.name);
    }
  }
  expandTrainingBatchNorm(g);
  g.outputs = sg.outputs;
  eliminateDeadCode(g);
  return {
    bytes: serializeModel(new Model(g, new Map([['', TRAIN_OPSET]]))).onnx, inputName: x.name, classes, inputShape, termNames,
    params: params.map((p) => ({ name: p.name, shape: p.shape })),
    buffers: buffers.map((v) => ({ name: v.name, shape: v.shape })),
    slots, carry: sg.carry, biasCorrection,
  };
}
