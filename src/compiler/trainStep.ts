import { backward } from '../autodiff/backward.js';
import { Builder } from '../ir/builder.js';
import type { Graph, Value } from '../ir/graph.js';
import { Model, parseModel, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { UserError } from '../util/errors.js';
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

// Compile forward + loss + backward + optimizer update into one ONNX graph of standard ops.
export function compileTrainStep(spec: TrainStepSpec): CompiledStep {
  const g = copyGraph(spec.model);
  upgradeToOpset18(g);
  const x = imageInput(g);
  const dims = x.type?.shape ?? [];
  const inputShape = [spec.batch, ...dims.slice(1).map((d) => (typeof d === 'number' ? d : NaN))];
  if (inputShape.some((d) => !Number.isFinite(d))) throw new UserError(`input '${x.name}' has symbolic spatial dims ${JSON.stringify(dims)}; give a fixed input size`);
  inferShapes(g, { inputShapes: { [x.name]: inputShape }, fold: true });
  const logits = g.outputs[0]!;
  if (logits.rank !== 2) throw new UserError(`the model's first output '${logits.name}' must be logits [N, classes]; it is ${JSON.stringify(logits.shape)}`);
  const classes = logits.shape[1]!;
  const { params, buffers } = classifyInitializers(g);
  const exempt = spec.noDecay === 'norm-and-bias' ? normAndBiasParams(g) : undefined;
  const noDecay = (name: string) => (exempt ? exempt.has(name) : typeof spec.noDecay === 'function' ? spec.noDecay(name) : false);
  const bns = toTrainingBatchNorm(g);
  liftToInputs(g, [...params, ...buffers]);
  const b = new Builder(g, 'train');
  const input = (name: string, shape: number[]) => {
    const v = g.value(name, { dtype: 'float32', shape });
    g.inputs.push(v);
    return v;
  };
  const labels = input('labels', [spec.batch, classes]);
  const lr = input('lr', []);
  const opt = optimizerByName(spec.optimizer);
  const bc1 = opt.biasCorrection ? input('bc1', []) : undefined;
  const bc2 = opt.biasCorrection ? input('bc2', []) : undefined;
  const termNames: string[] = [];
  const weighted = spec.terms.map((t) => {
    const def = termByName(t.term);
    const name = t.name ?? t.term;
    termNames.push(name);
    const value = def.build({ b: b.scoped(name), labels, taps: { logits }, options: { ...def.defaults, ...t.options } });
    return { name, value, w: input(`w_${name}`, []) };
  });
  const loss = weighted.map((t) => b.mul(t.value, t.w)).reduce((a, c) => b.add(a, c));
  const grads = backward(g, { loss, wrt: params });
  const outputs: Value[] = [b.identity(loss, 'loss'), ...weighted.map((t) => b.identity(t.value, `term_${t.name}`)), b.identity(logits, 'logits_out')];
  const carry: Record<string, string> = {};
  const slots: CompiledStep['slots'] = [];
  for (const p of params) {
    const grad = grads.get(p);
    if (!grad) throw new UserError(`parameter '${p.name}' gets no gradient from the loss; freeze it or check the graph`);
    if (spec.exposeGradients) outputs.push(b.identity(grad, `grad.${p.name}`));
    const state = opt.slots.map((s) => {
      const name = `${p.name}.${s}`;
      slots.push({ name, shape: p.shape, param: p.name, slot: s });
      return input(name, p.shape);
    });
    const hyper = noDecay(p.name) ? { ...spec.hyper, weightDecay: 0 } : spec.hyper;
    const upd = opt.update(b.scoped(p.name), p, grad, state, { lr, ...(bc1 ? { bc1, bc2: bc2! } : {}) }, hyper);
    outputs.push(b.identity(upd.param, `${p.name}.new`));
    carry[`${p.name}.new`] = p.name;
    upd.state.forEach((s, i) => {
      outputs.push(b.identity(s, `${state[i]!.name}.new`));
      carry[`${state[i]!.name}.new`] = state[i]!.name;
    });
  }
  const bufferSet = new Set(buffers);
  for (const bn of bns) {
    for (const [stat, upd] of [[bn.runningMean, bn.newMean], [bn.runningVar, bn.newVar]] as const) {
      if (!bufferSet.has(stat)) continue;
      const out = b.identity(upd, `${stat.name}.updated`);
      outputs.push(out);
      carry[out.name] = stat.name;
    }
  }
  expandTrainingBatchNorm(g);
  g.outputs = outputs;
  eliminateDeadCode(g);
  const m = new Model(g, new Map([['', TRAIN_OPSET]]));
  return {
    bytes: serializeModel(m).onnx, inputName: x.name, classes, inputShape, termNames,
    params: params.map((p) => ({ name: p.name, shape: p.shape })),
    buffers: buffers.map((v) => ({ name: v.name, shape: v.shape })),
    slots, carry, biasCorrection: opt.biasCorrection,
  };
}
