import type { Shape } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { findTaps, type Taps } from '../models/taps.js';
import { messageOf, UserError } from '../util/errors.js';
import { countMacs, type MacCount } from './macs.js';
import { checkDifferentiable, opHistogram, type Differentiability } from './ops.js';
import { countParameters, type ParamCount } from './params.js';

// A graph input or output as declared in the file, and its shape at the analysed input shape.
export interface IOInfo {
  name: string;
  dtype: string;
  shape: Shape | undefined;
  inferred: Shape | undefined;
}

// Everything `inspect` reports about a model; also what `--json` prints.
export interface ModelSummary {
  graph: string;
  producer: string;
  opset: number;
  inputShape: number[];
  inputs: IOInfo[];
  outputs: IOInfo[];
  nodes: number;
  ops: Record<string, number>;
  parameters: ParamCount;
  macs: MacCount;
  taps: Taps | { error: string };
  differentiable: Differentiability;
}

// The model's own input shape with dynamic dims (batch) set to 1: the default shape to analyse at.
export function defaultInputShape(model: Model): number[] {
  const x = model.graph.inputs.find((v) => !v.constant);
  const s = x?.type?.shape;
  if (!x || !s)
    throw new UserError(
      `the model's input${x ? ` '${x.name}'` : ''} has no declared shape`,
      'give one with --input-shape, e.g. 1x3x224x224',
    );
  return s.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
}

// Analyse a model at an input shape (its first input): shapes, parameters, MACs, taps, differentiability.
// Mutates the model's graph (shape inference sorts it and annotates values); load a fresh copy to keep the original.
export function summarizeModel(model: Model, inputShape: number[] = defaultInputShape(model)): ModelSummary {
  const g = model.graph;
  const x = g.inputs.find((v) => !v.constant)!;
  const declared = (vs: typeof g.inputs) =>
    vs.map((v) => ({
      name: v.name,
      dtype: v.type?.dtype ?? 'unknown',
      shape: v.type?.shape ? [...v.type.shape] : undefined,
    }));
  const ins = declared(g.inputs);
  const outs = declared(g.outputs);
  try {
    inferShapes(g, { inputShapes: { [x.name]: inputShape } });
  } catch (err: unknown) {
    if (err instanceof UserError)
      throw new UserError(
        `the model cannot be analysed at input shape ${inputShape.join('x')}: ${err.message}`,
        err.hint,
      );
    throw new UserError(
      `--input-shape ${inputShape.join('x')}: the model cannot run at this shape (${messageOf(err)})`,
    );
  }
  const withInferred = (list: ReturnType<typeof declared>, vs: typeof g.inputs): IOInfo[] =>
    list.map((io, i) => ({ ...io, inferred: vs[i]?.type?.shape }));
  let taps: ModelSummary['taps'];
  try {
    taps = findTaps(model);
  } catch (err: unknown) {
    taps = { error: messageOf(err) };
  }
  return {
    graph: g.name,
    producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
    opset: model.opset,
    inputShape,
    inputs: withInferred(ins, g.inputs),
    outputs: withInferred(outs, g.outputs),
    nodes: g.nodes.length,
    ops: opHistogram(g),
    parameters: countParameters(g),
    macs: countMacs(g),
    taps,
    differentiable: checkDifferentiable(g),
  };
}
