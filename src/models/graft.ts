// Grafting (methods.md §1.3, §5): the part of a classifier between a tap and its logits (last stage, pooling,
// classifier) copied out as a model of its own, fed by that tap. SOKD's knowledge bridge module is such a graft.
import { classifyInitializers } from '../ir/params.js';
import { copyGraph, probeShapes } from '../ir/classifier.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';
import { filledTensor, normalTensor, Rng, uniformTensor } from '../ir/init.js';
import { looksFolded, restoreBatchNorm } from './slim/restoreBn.js';
import { findTaps, resolveTap } from './taps.js';

// `copy` starts from the teacher's weights; `random` re-initialises them as SOKD's code does (methods.md §5(g)1).
export type GraftInit = 'copy' | 'random';

export interface GraftOptions {
  // Tap name (`f2`) or value name; default: the input of the last stage (the second-to-last stage output).
  tap?: string;
  init: GraftInit;
  seed: number;
}

// The grafted head and the tap (by the teacher's tap name or value name) that feeds it.
export interface Graft {
  model: Model;
  tap: string;
  // The tap's value name in the teacher graph and its shape per sample.
  value: string;
  shape: number[];
  restoredBatchNorm: boolean;
}

// The default tap of a graft: the input of the last stage, as SOKD's KBM (methods.md §5(d)).
export function lastStageInput(model: Model): string {
  const g = copyGraph(model);
  const m = withShapes(g, model);
  const taps = findTaps(m);
  const stages = taps.stages.filter((t) => t.shape?.length === 4);
  if (!stages.length && taps.blocks?.length) {
    throw new UserError(
      "the teacher is a transformer: its blocks are token maps [N, T, D], and a graft (SOKD's knowledge bridge module) copies the teacher from a 4-D stage map [N, C, H, W]",
      'distil a transformer teacher with a logit method (kd, dkd, dml) or sp/pkt',
    );
  }
  if (stages.length < 2)
    throw new UserError(
      `the teacher has ${stages.length} 4-D stage output(s); grafting at the input of its last stage needs at least 2`,
      'name the tap with --kbm-tap',
    );
  return stages[stages.length - 2]!.name;
}

// Copy the subgraph from a tap to the logits of `model` as a new model whose single input is that tap.
export function graftHead(model: Model, o: GraftOptions): Graft {
  const tapName = o.tap ?? lastStageInput(model);
  const probe = copyGraph(model);
  const probeModel = withShapes(probe, model);
  const tap = resolveTap(probeModel, tapName);
  const shape = tap.shape;
  if (!shape || shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new UserError(
      `graft tap '${tapName}' (${tap.value}) is ${shape ? JSON.stringify(['N', ...shape.slice(1)]) : 'of unknown shape'}, not a 4-D feature map [N, C, H, W]`,
      'pick a stage output (f1, f2, ...) with --kbm-tap',
    );
  }
  const g = copyGraph(model);
  const folded = looksFolded(g);
  let input = g.values.get(tap.value)!;
  // Zoo models name their taps with Identity side branches: cut at the aliased value itself.
  while (input.producer?.opType === 'Identity' && input.producer.inputs[0] && !input.producer.inputs[0].constant)
    input = input.producer.inputs[0];
  cutAbove(g, input, g.outputs[0]!);
  input.type = { dtype: 'float32', shape: ['N', ...(shape.slice(1) as number[])] };
  if (folded) restoreBatchNorm(g);
  if (o.init === 'random') reinitialise(g, new Rng(o.seed));
  g.name = `${model.graph.name || 'teacher'}_graft`;
  return {
    model: new Model(g, new Map(model.opsets)),
    tap: tapName,
    value: tap.value,
    shape: shape.slice(1) as number[],
    restoredBatchNorm: folded,
  };
}

// The per-sample shape of a tap of a model (e.g. the embedding width of a teacher).
export function tapShape(model: Model, tapName: string): number[] {
  const shape = resolveTap(withShapes(copyGraph(model), model), tapName).shape ?? [];
  return shape.slice(1).map((d) => (typeof d === 'number' ? d : NaN));
}

function withShapes(g: Graph, model: Model): Model {
  probeShapes(g);
  return new Model(g, model.opsets, model.proto);
}

// Names of the constants (weights, BatchNorm statistics) a tap depends on: what a term on that tap can train. IFM's
// proxy-match stage trains the proxy up to its embedding and freezes the rest (its classifier gets no gradient).
export function constantsUpstreamOf(model: Model, tapName: string): Set<string> {
  const out = new Set<string>();
  const seen = new Set<Node>();
  const v = model.graph.values.get(resolveTap(model, tapName).value);
  const stack = v?.producer ? [v.producer] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const x of n.inputs) {
      if (!x) continue;
      if (x.constant) out.add(x.name);
      else if (x.producer) stack.push(x.producer);
    }
  }
  return out;
}

// Keep only the nodes between `input` and `output`; every other path into them must be constant, else the tap does
// not separate the head from the trunk (a skip connection around it, say).
function cutAbove(g: Graph, input: Value, output: Value): void {
  const keep = new Set<Node>();
  const stack = output.producer ? [output.producer] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (keep.has(n)) continue;
    keep.add(n);
    for (const v of n.inputs) {
      if (!v || v === input || v.constant) continue;
      if (!v.producer)
        throw new UserError(
          `tap '${input.name}' does not cut the graph: node '${n.name}' (${n.opType}) after it also reads '${v.name}'`,
          'pick a tap every path to the logits goes through',
        );
      stack.push(v.producer);
    }
  }
  if (![...keep].some((n) => n.inputs.includes(input)))
    throw new UserError(`the logits do not depend on tap '${input.name}'`);
  for (const n of [...g.nodes]) if (!keep.has(n)) g.removeNode(n);
  input.producer = undefined;
  g.inputs = [input];
  g.outputs = [output];
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  g.initializers = g.initializers.filter((v) => used.has(v));
  g.pruneValues();
}

// Fresh weights as the reference code's init loop: Conv kaiming_normal_(fan_out), BatchNorm γ 1 β 0 with fresh
// running statistics, Linear PyTorch's default weight and a zero bias.
function reinitialise(g: Graph, rng: Rng): void {
  const { params, buffers } = classifyInitializers(g);
  const learned = new Set([...params, ...buffers]);
  for (const n of g.nodes) {
    const set = (i: number, make: (dims: number[]) => ReturnType<typeof filledTensor>) => {
      const v = n.inputs[i];
      if (v?.constant && learned.has(v)) v.constant = make([...v.constant.dims]);
    };
    if (n.opType === 'Conv') {
      set(1, (d) => normalTensor(rng, d, Math.sqrt(2 / (d[0]! * d.slice(2).reduce((a, b) => a * b, 1)))));
      set(2, (d) => filledTensor(d, 0));
    } else if (n.opType === 'BatchNormalization') {
      set(1, (d) => filledTensor(d, 1));
      set(2, (d) => filledTensor(d, 0));
      set(3, (d) => filledTensor(d, 0));
      set(4, (d) => filledTensor(d, 1));
    } else if (n.opType === 'Gemm') {
      const transB = n.attrInt('transB', 0) === 1;
      set(1, (d) => uniformTensor(rng, d, 1 / Math.sqrt(transB ? d[1]! : d[0]!)));
      set(2, (d) => filledTensor(d, 0));
    } else if (n.opType === 'MatMul') {
      const w = n.inputs[1]?.constant ? 1 : 0;
      set(w, (d) => uniformTensor(rng, d, 1 / Math.sqrt(d[0]!)));
    } else if (n.opType === 'Add') {
      set(0, (d) => filledTensor(d, 0));
      set(1, (d) => filledTensor(d, 0));
    }
  }
}
