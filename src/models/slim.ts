import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Graph, Node, ValueType } from '../ir/graph.js';
import { classifierIO } from '../ir/classifier.js';
import { parseModel, serializeModel, type Model } from '../ir/model.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { topoSort } from '../ir/passes/toposort.js';
import { ModelProtoSchema } from '../onnx/onnx_pb.js';
import { UserError } from '../util/errors.js';
import { analyzeChannels } from './slim/analyze.js';
import { looksFolded, restoreBatchNorm } from './slim/restoreBn.js';
import { Rewriter, type SlimmedLayer } from './slim/rewrite.js';
import { selectChannels, type SlimCriterion } from './slim/select.js';
import { META_SLIM } from '../ir/metadata.js';

// Options of channel slimming.
export interface SlimOptions {
  criterion: SlimCriterion;
  // Put BatchNorm back after the biased convs of an eval-mode (BN-folded) export: 'auto' does it when the graph has
  // no BatchNormalization node.
  restoreBatchNorm?: boolean | 'auto';
}

// A slimmed student and what was kept, layer by layer.
export interface SlimResult {
  model: Model;
  layers: SlimmedLayer[];
  restoredBatchNorms: number;
}

// A deep copy of a model without stored value_info, whose shapes would be stale after slimming.
function cloneWithoutValueInfo(model: Model): Model {
  const proto = fromBinary(ModelProtoSchema, serializeModel(model).onnx);
  if (proto.graph) proto.graph.valueInfo = [];
  return parseModel(toBinary(ModelProtoSchema, create(ModelProtoSchema, proto)));
}

// Static shapes at batch 1, so the analysis knows every channel count; returns the declared I/O types to restore.
function staticShapes(g: Graph): Map<string, ValueType | undefined> {
  const declared = new Map([...g.inputs, ...g.outputs].map((v) => [v.name, v.type && { ...v.type }]));
  const io = classifierIO(g);
  const s = io.shape;
  if (!s || s.slice(1).some((d) => typeof d !== 'number')) {
    throw new UserError(
      `cannot slim: input '${io.inputName}' has shape ${JSON.stringify(s)}; slimming needs fixed channel and spatial dims`,
    );
  }
  inferShapes(g, { inputShapes: { [io.inputName]: [1, ...(s.slice(1) as number[])] } });
  return declared;
}

// Forget batch-1 shapes and folded values so later passes infer them for their own batch size.
function resetTypes(g: Graph, declared: Map<string, ValueType | undefined>): void {
  const inits = new Set(g.initializers);
  for (const v of g.values.values()) {
    if (inits.has(v)) continue;
    if (declared.has(v.name)) {
      v.type = declared.get(v.name);
      continue;
    }
    v.constant = undefined;
    if (v.type) v.type = { dtype: v.type.dtype };
  }
  const outs = new Set(g.outputs);
  g.initializers = g.initializers.filter((v) => v.uses.length > 0 || outs.has(v));
  g.pruneValues();
}

// Slim a copy of a network and report each layer's kept channels (the student starts from the teacher's weights).
export function slimWithReport(model: Model, ratio: number, opts: SlimOptions): SlimResult {
  if (!(ratio > 0 && ratio <= 1))
    throw new UserError(
      `slim ratio must be in (0, 1]; got ${ratio}`,
      'e.g. slim:0.5 keeps half the channels of each conv',
    );
  const out = cloneWithoutValueInfo(model);
  const g = out.graph;
  const declared = staticShapes(g);
  const restore = opts.restoreBatchNorm ?? 'auto';
  const restored: Set<Node> =
    restore === true || (restore === 'auto' && looksFolded(g)) ? restoreBatchNorm(g) : new Set<Node>();
  topoSort(g);
  const cg = analyzeChannels(g);
  const kept = selectChannels(g, cg, ratio, opts.criterion, restored);
  const rw = new Rewriter(g, cg, kept);
  for (const n of [...g.nodes]) rw.node(n);
  resetTypes(g, declared);
  out.setMetadata(META_SLIM, JSON.stringify({ ratio, criterion: opts.criterion, restoredBatchNorms: restored.size }));
  return { model: out, layers: rw.layers, restoredBatchNorms: restored.size };
}

// `slim:<ratio>` students: the teacher with that fraction of each conv's channels, most important filters kept.
export function slimModel(model: Model, ratio: number, opts: SlimOptions): Model {
  return slimWithReport(model, ratio, opts).model;
}

export type { SlimCriterion, SlimmedLayer };
