import type { Graph, Node, Value } from '../ir/graph.js';
import { Builder } from '../ir/builder.js';
import { isFloat } from '../ir/dtype.js';
import { Model } from '../ir/model.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { Tensor } from '../ir/tensor.js';
import { allTaps, findTaps, type Tap, type Taps } from '../models/taps.js';
import { UserError } from '../util/errors.js';
import { upgradeToOpset18 } from './opset.js';
import { classifyInitializers, normAndBiasParams } from '../ir/params.js';
import { toInferenceForm } from './inferenceForm.js';
import { classifierIO, copyGraph, probeShapes } from '../ir/classifier.js';

// One network of a step as the compiler takes it: a model, its role, and whether (and how) it learns.
export interface NetworkSpec {
  // Unique, no dots: addresses taps as `<name>.<tap>` and prefixes every value (`student/conv1.weight`).
  name: string;
  model: Model;
  role: 'teacher' | 'student' | 'auxiliary';
  trainable: boolean;
  // Learning-rate multiplier of this network's parameter group.
  lrScale?: number;
  weightDecay?: number;
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  // Learned tensors (by their name in the model) kept constant in a trainable network, as torch's requires_grad_(False):
  // a part no term reads (IFM's proxy classifier while its embedding is trained).
  frozen?: (name: string) => boolean;
  // Fed by another network's tap instead of the image (a grafted head, MLP heads on an embedding); that network must
  // come earlier in the list. The tap is read behind a stop-gradient unless `stopGradient` is false (MGD's student
  // encoders back-propagate into the student).
  input?: { network: string; tap: string; stopGradient?: boolean };
  // Quantisation-aware training: the weights and activations the int8 exporter quantises pass through fake
  // quantisation in the step and evaluation graphs (compiler/fakeQuant.ts). Students only; a teacher stays fp32.
  fakeQuant?: FakeQuantSpec;
}

// What fake quantisation a network gets: per-channel symmetric weights of `weightBits` (the exporter's qdq.ts formula,
// recomputed from the current weights in every step), and per-tensor uint8 activations by value name in the network's
// own graph (found and calibrated above the compiler, from the exporter's int8 plan), each from its range [lo, hi].
export interface FakeQuantSpec {
  weightBits: 7 | 8;
  activations: { name: string; range: [number, number] }[];
  // Pass-through values (MaxPool, Flatten, ...) quantised at another activation's parameters: name -> that name.
  shared: Record<string, string>;
  // Track each range during training by an exponential moving average of the batch's min and max with this constant
  // (PyTorch's MovingAverageMinMaxObserver, 0.01 in its default QAT qconfig): the ranges become state of a trainable
  // network (`<value>:qat_min`, `<value>:qat_max`). Absent: the ranges are held at the given ones.
  averaging?: number;
}

// A network copied into a shared graph: its values renamed under `<name>/`, fed by the shared image input.
export interface PlacedNetwork {
  spec: NetworkSpec;
  logits: Value;
  // Learned weights and BatchNorm running statistics (trainable networks only), with their original names.
  params: Value[];
  buffers: Value[];
  source: Map<Value, string>;
  noDecay: Set<Value>;
  taps: Taps | undefined;
  // Values of the placed graph by their original name (for taps named by value).
  byOriginal: Map<string, Value>;
  nodes: Node[];
  // The value this network reads as its image (the shared input, or the tap that feeds it).
  input: Value;
  // Fake-quantised activations' ranges by value name in the network's own graph: state buffers when tracked, else
  // constants (see FakeQuantSpec).
  ranges: Map<string, QatRange>;
}

// The [min, max] range of one fake-quantised activation, as two float32 scalars (PyTorch's min_val, max_val).
export interface QatRange {
  min: Value;
  max: Value;
}

// How a network is placed: `train` keeps trainable BatchNorm nodes as they are (the compiler makes them training-mode),
// `infer` puts every BatchNorm in inference form. With `batch`, shapes are made static (taps need them).
export interface PlaceOptions {
  mode: 'train' | 'infer';
  batch?: number;
  // Networks whose taps are needed without a fixed batch (they feed others): found on a batch-1 probe.
  tapsFor?: Set<string>;
}

// Place several networks, each fed by the image or by an earlier network's tap; `stop` collects the stop-gradient
// marks of the feeds. Networks in `feeders` are placed only so that others can read their taps.
export function placeNetworks(
  target: Graph,
  image: Value,
  specs: NetworkSpec[],
  o: PlaceOptions,
  stop = new Set<Value>(),
): PlacedNetwork[] {
  const placed = new Map<string, PlacedNetwork>();
  const b = new Builder(target, 'feed');
  const feeding = new Set(specs.flatMap((s) => (s.input ? [s.input.network] : [])));
  return specs.map((spec) => {
    let input = image;
    if (spec.input) {
      const from = placed.get(spec.input.network);
      if (!from)
        throw new UserError(
          `network '${spec.name}' is fed by '${spec.input.network}', which must be a network placed before it`,
        );
      const v = tapValue(from, spec.input.tap);
      if (spec.input.stopGradient === false) input = v;
      else {
        input = b.identity(v, `sg/${spec.name}/input`);
        stop.add(input);
      }
    }
    const p = placeNetwork(target, input, spec, { ...o, tapsFor: feeding });
    placed.set(spec.name, p);
    return p;
  });
}

// Copy one network into `target`, fed by `input`; frozen networks keep their weights as initializers (forward only).
export function placeNetwork(target: Graph, input: Value, spec: NetworkSpec, o: PlaceOptions): PlacedNetwork {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(spec.name))
    throw new UserError(`network name '${spec.name}' must be a letter followed by letters, digits, '_' or '-'`);
  const g = copyGraph(spec.model);
  upgradeToOpset18(g);
  const x = classifierIO(g).input;
  let taps: Taps | undefined;
  if (o.batch !== undefined) {
    const dims = x.type?.shape ?? [];
    const shape = [o.batch, ...dims.slice(1).map((d) => (typeof d === 'number' ? d : NaN))];
    if (shape.some((d) => !Number.isFinite(d)))
      throw new UserError(
        `${spec.name}: input '${x.name}' has symbolic spatial dims ${JSON.stringify(dims)}; give a fixed input size`,
      );
    const keep = spec.trainable ? new Set(g.initializers.filter((v) => v.constant && isFloat(v.dtype))) : undefined;
    inferShapes(g, { inputShapes: { [x.name]: shape }, fold: true, keep });
    const logits = g.outputs[0]!;
    if (logits.rank !== 2)
      throw new UserError(
        `${spec.name}: the model's first output '${logits.name}' must be logits [N, classes]; it is ${JSON.stringify(logits.shape)}`,
      );
    taps = tapsOf(spec, g);
  } else if (o.tapsFor?.has(spec.name)) taps = probeTaps(spec);
  if (taps) taps = materializeViews(g, taps);
  if (o.mode === 'infer' || !spec.trainable) toInferenceForm(g);
  const learned = spec.trainable
    ? classifyInitializers(g, new Set(spec.model.graph.initializers.map((v) => v.name)))
    : { params: [], buffers: [] };
  const frozen = spec.frozen ?? (() => false);
  const params = learned.params.filter((v) => !frozen(v.name));
  const buffers = learned.buffers.filter((v) => !frozen(v.name));
  const exempt = spec.trainable && spec.noDecay === 'norm-and-bias' ? normAndBiasParams(g) : new Set<string>();
  const source = new Map<Value, string>();
  for (const v of [...params, ...buffers]) source.set(v, v.name);
  const noDecay = new Set(
    [...params].filter((p) => exempt.has(p.name) || (typeof spec.noDecay === 'function' && spec.noDecay(p.name))),
  );
  const ranges = qatRanges(g, spec);
  if (spec.trainable && spec.fakeQuant?.averaging !== undefined)
    for (const v of [...ranges.values()].flatMap((r) => [r.min, r.max])) {
      buffers.push(v);
      source.set(v, v.name);
    }
  const byOriginal = new Map(g.values);
  moveInto(target, g, x, input, `${spec.name}/`);
  return {
    spec,
    logits: g.outputs[0]!,
    params,
    buffers,
    source,
    noDecay,
    taps,
    byOriginal,
    nodes: g.nodes,
    input,
    ranges,
  };
}

// The starting ranges of a network's fake-quantised activations, as initializers of its graph.
function qatRanges(g: Graph, spec: NetworkSpec): Map<string, QatRange> {
  const out = new Map<string, QatRange>();
  for (const a of spec.fakeQuant?.activations ?? []) {
    const [min, max] = (['min', 'max'] as const).map((k, i) => {
      const name = `${a.name}:qat_${k}`;
      if (g.values.has(name)) throw new Error(`${spec.name}: value '${name}' already exists`);
      return g.addInitializer(name, Tensor.float32([], [a.range[i]!]));
    });
    out.set(a.name, { min: min!, max: max! });
  }
  return out;
}

// Tap value names of a network at batch 1 (valid for any batch: taps are named values, not shapes).
function probeTaps(spec: NetworkSpec): Taps | undefined {
  const g = copyGraph(spec.model);
  upgradeToOpset18(g);
  probeShapes(g);
  return tapsOf(spec, g);
}

function tapsOf(spec: NetworkSpec, g: Graph): Taps | undefined {
  try {
    return findTaps(new Model(g, spec.model.opsets, spec.model.proto));
  } catch (err: unknown) {
    // A graph without a recognisable classifier still trains on its logits; only named taps are unavailable.
    if (err instanceof UserError) return undefined;
    throw err;
  }
}

// The name of the value a tap's view yields: the same in a batch-1 probe and in the placed graph.
const viewName = (t: Tap) => `${t.value}/tap_${t.view === 'global-pool' ? 'pooled' : 'nchw'}`;

// Add the nodes that make each tap with a view (a channels-last map transposed to channels first, a conv classifier's
// input pooled to the embedding), so that losses read canonical tensors; unused ones are removed as dead code.
function materializeViews(g: Graph, taps: Taps): Taps {
  const b = new Builder(g, 'tap');
  const made = (t: Tap): Tap => {
    const v = t.view ? g.values.get(t.value) : undefined;
    if (!t.view || !v) return t;
    const name = viewName(t);
    if (!g.values.get(name)?.producer) {
      if (t.view === 'nhwc-to-nchw') b.node('Transpose', [v], { perm: [0, 3, 1, 2] }, { outputNames: [name] });
      else b.node('Flatten', [b.op.GlobalAveragePool([v])], { axis: 1 }, { outputNames: [name] });
    }
    return { name: t.name, value: name, shape: t.shape, layout: t.layout };
  };
  return {
    stages: taps.stages.map(made),
    ...(taps.stem ? { stem: made(taps.stem) } : {}),
    ...(taps.blocks ? { blocks: taps.blocks.map(made) } : {}),
    embedding: made(taps.embedding),
    logits: taps.logits,
    source: taps.source,
  };
}

// Rename every value and node of `g` under `prefix` and move them into `target`, with `x` replaced by `input`.
function moveInto(target: Graph, g: Graph, x: Value, input: Value, prefix: string): void {
  for (const u of [...x.uses]) g.setInput(u.node, u.index, input);
  for (const v of g.values.values()) {
    if (v === x) continue;
    v.name = `${prefix}${v.name}`;
    if (target.values.has(v.name)) throw new Error(`value '${v.name}' already exists in the step graph`);
    target.values.set(v.name, v);
  }
  for (const n of g.nodes) {
    n.name = `${prefix}${n.name}`;
    target.nodes.push(n);
  }
  target.initializers.push(...g.initializers);
}

// The tensor of a tap: `f2`, `embedding`, `logits`, or any value name of the network's own graph.
export function tapValue(net: PlacedNetwork, tap: string): Value {
  const t = net.taps;
  const known = t ? allTaps(t) : [];
  if (tap === 'logits') return net.logits;
  const named = known.find((k) => k.name === tap);
  const v = net.byOriginal.get(named ? named.value : tap);
  if (v && !v.constant) return v;
  const names = known.map((k) => k.name);
  throw new UserError(
    `network '${net.spec.name}' has no tap '${tap}'`,
    `available taps: ${(names.length ? names : ['logits']).join(', ')}; any value name of the graph works too (see \`onnx-distill inspect\`)`,
  );
}

// The initial values of a network's learned tensors, under their placed names.
export function initialValues(net: PlacedNetwork): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const v of [...net.params, ...net.buffers]) out.set(v.name, v.constant!);
  return out;
}
