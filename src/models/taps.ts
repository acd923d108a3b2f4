import type { Graph, Node, Shape, Value } from '../ir/graph.js';
import { classifierIO } from '../ir/classifier.js';
import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';
import { META_TAPS as TAPS_METADATA_KEY } from '../ir/metadata.js';
import { chainLayouts, resolution, toNchwShape, type TapLayout } from './tapLayout.js';

// How a tap's tensor is made from the graph's value when the two differ: a channels-last map transposed to
// channels first, or a conv classifier's input map pooled to the embedding vector. Placing a network adds the view.
export type TapView = 'nhwc-to-nchw' | 'global-pool';

// One named intermediate value that a distillation loss can read (a feature map, transformer tokens, the embedding,
// the logits). `shape` and `layout` are those of the tensor the tap yields (after its view, if any).
export interface Tap {
  name: string;
  value: string;
  shape: Shape | undefined;
  layout: TapLayout;
  view?: TapView;
}

// The taps of a classifier: stage outputs (`f1..`, channels-first maps), the optional stem (`f0`), a transformer's
// block outputs (`b1..`, token maps [N, T, D]), the pooled embedding and the logits.
export interface Taps {
  stages: Tap[];
  stem?: Tap;
  blocks?: Tap[];
  embedding: Tap;
  logits: Tap;
  // Where they came from: the zoo's metadata, or the graph walk.
  source: 'metadata' | 'auto';
}

// Every tap of a model in order: stem, stages, blocks, embedding, logits.
export function allTaps(t: Taps): Tap[] {
  return [...(t.stem ? [t.stem] : []), ...t.stages, ...(t.blocks ?? []), t.embedding, t.logits];
}

function layoutOf(v: Value): TapLayout {
  const rank = v.type?.shape?.length ?? 4;
  return rank === 3 ? 'tokens' : rank <= 2 ? 'vector' : 'nchw';
}

function tap(name: string, v: Value, layout: TapLayout = layoutOf(v)): Tap {
  const shape = v.type?.shape;
  if (layout === 'nhwc')
    return { name, value: v.name, shape: shape && toNchwShape(shape), layout: 'nchw', view: 'nhwc-to-nchw' };
  return { name, value: v.name, shape, layout };
}

// Ops that only pass the classifier's input through (or normalise the logits) between the last Gemm and the output.
const PASS_THROUGH = new Set(['Identity', 'Softmax', 'LogSoftmax', 'Flatten', 'Reshape', 'Squeeze', 'Dropout', 'Cast']);

// Ops a conv classifier (SqueezeNet's Dropout, 1x1 Conv, ReLU, global pool, flatten) may have between its 1x1 conv
// and the logits.
const CONV_HEAD_TAIL = new Set(['Relu', 'GlobalAveragePool', 'ReduceMean', 'AveragePool']);

// The classifier that produces the logits, walking back from the graph output: a final Gemm/MatMul (its input is the
// embedding), or a 1x1 Conv followed by a global pool (its input map, pooled, is the embedding).
function finalLinear(logits: Value): { node: Node; input: Value; conv: boolean } | undefined {
  let v: Value | undefined = logits;
  let pooled = false;
  for (let hop = 0; v?.producer && hop < 16; hop++) {
    const n: Node = v.producer;
    if (n.opType === 'Gemm' || n.opType === 'MatMul') {
      const x = n.opType === 'MatMul' && n.inputs[0]?.constant ? n.inputs[1] : n.inputs[0];
      return x ? { node: n, input: x, conv: false } : undefined;
    }
    if (pooled && n.opType === 'Conv' && isPointwise(n)) {
      let x = n.inputs[0];
      while (x?.producer && ['Dropout', 'Identity'].includes(x.producer.opType)) x = x.producer.inputs[0];
      return x ? { node: n, input: x, conv: true } : undefined;
    }
    if (n.opType === 'Add' && n.inputs.some((i) => i?.constant)) v = n.inputs.find((i) => i && !i.constant);
    else if (PASS_THROUGH.has(n.opType)) v = n.inputs[0];
    else if (CONV_HEAD_TAIL.has(n.opType)) {
      pooled ||= n.opType !== 'Relu';
      v = n.inputs[0];
    } else return undefined;
  }
  return undefined;
}

// A 1x1 convolution with constant weights: a linear classifier applied at every position.
function isPointwise(n: Node): boolean {
  const w = n.inputs[1]?.type?.shape;
  return !!n.inputs[1]?.constant && w?.length === 4 && w[2] === 1 && w[3] === 1;
}

const SHAPE_ONLY = new Set(['Shape', 'Size']);

// Nodes lying on some path from `source` to `sink` (constants and dead ends excluded), in graph order.
function pathNodes(g: Graph, source: Value, sink: Value): Node[] {
  const up = new Set<Node>();
  const stack = sink.producer ? [sink.producer] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (up.has(n)) continue;
    up.add(n);
    for (const v of n.inputs) if (v?.producer) stack.push(v.producer);
  }
  const down = new Set<Value>([source]);
  const out: Node[] = [];
  for (const n of g.nodes) {
    // A Shape reads no pixels: the batch size it passes to a Reshape or an Expand is not a second path of features.
    if (SHAPE_ONLY.has(n.opType) || !n.inputs.some((v) => v && down.has(v))) continue;
    n.outputs.forEach((o) => down.add(o));
    if (up.has(n)) out.push(n);
  }
  return out;
}

// The main path: values every path from the input to `sink` goes through (dominators), in order. In a topological
// order a value is one exactly when it is the only value crossing the cut just after its producer.
export function mainPath(g: Graph, source: Value, sink: Value, nodes = pathNodes(g, source, sink)): Value[] {
  const pos = new Map(nodes.map((n, i) => [n, i]));
  const lastUse = new Map<Value, number>();
  const born = new Map<Value, number>([[source, -1]]);
  nodes.forEach((n, i) => {
    for (const v of n.inputs) if (v && (v === source || (v.producer && pos.has(v.producer)))) lastUse.set(v, i);
    for (const o of n.outputs) born.set(o, i);
  });
  const crossing = new Array<number>(nodes.length).fill(0);
  const only = new Array<Value | undefined>(nodes.length);
  for (const [v, end] of lastUse) {
    for (let i = Math.max(born.get(v)!, 0); i < end; i++) {
      crossing[i]! += 1;
      only[i] = v;
    }
  }
  const chain = [source];
  nodes.forEach((n, i) => {
    if (crossing[i] === 1 && only[i]!.producer === n) chain.push(only[i]!);
  });
  chain.push(sink);
  return chain;
}

// Single-input ops that follow a conv in a conv→BN→activation unit.
const UNIT_TAIL = new Set([
  'BatchNormalization',
  'BatchNormTrain',
  'Relu',
  'Clip',
  'LeakyRelu',
  'HardSwish',
  'Sigmoid',
  'Mul',
  'PRelu',
]);

// The stem: the first conv's output carried through its BN/activation (what RepDistiller calls f0).
function stemOf(chain: Value[]): Value | undefined {
  const i = chain.findIndex((v) => v.producer?.opType === 'Conv');
  if (i < 0) return undefined;
  let j = i;
  while (j + 1 < chain.length && UNIT_TAIL.has(chain[j + 1]!.producer?.opType ?? '')) j++;
  return chain[j];
}

// A residual or concatenating merge: the mark of a block-structured network (ResNet, MobileNet), unlike a plain CNN.
function isMerge(v: Value): boolean {
  const n = v.producer;
  return !!n && ['Add', 'Sum', 'Concat'].includes(n.opType) && n.inputs.filter((i) => i && !i.constant).length > 1;
}

// Stage outputs: the last main-path value at each spatial resolution, up to the global pooling, with its layout. In a
// block-structured network, a first resolution where only the stem unit runs (ImageNet ResNet's 112x112) is the
// stem's, not a stage. Channels-last values (ConvNeXt's LayerNorm, Swin) count at their own H and W, so one map in two
// layouts is one stage.
function stageValues(chain: Value[], stem: Value | undefined): [Value, TapLayout][] {
  const layouts = chainLayouts(chain);
  const groups: [Value, TapLayout][][] = [];
  let key = '';
  for (const [i, v] of chain.entries()) {
    if (i === 0) continue;
    const s = resolution(v, layouts[i]);
    if (s === 'pooled' && groups.length) break;
    if (!s || s === 'pooled') continue;
    const k = s.join('x');
    if (k !== key) groups.push([]);
    key = k;
    groups[groups.length - 1]!.push([v, layouts[i]!]);
  }
  const first = groups[0];
  if (first && first[first.length - 1]![0] === stem && chain.some(isMerge)) groups.shift();
  return groups.map((grp) => {
    // A norm that opens the next stage (ConvNeXt's downsampling LayerNorm, in its permutes) is not this stage's output.
    let end = grp.length - 1;
    while (end > 0 && NORM_TAIL.has(grp[end]![0].producer?.opType ?? '')) end--;
    return grp[end]!;
  });
}

const NORM_TAIL = new Set(['Transpose', 'LayerNormalization']);

// A transformer's block outputs on the main path: of the residual sums over token maps [N, T, D], those after which an
// attention (a Softmax) runs before the next sum, and the last one. A pre-norm block has two sums (attention, MLP);
// its output is the second.
function tokenBlocks(chain: Value[], nodes: Node[]): Value[] {
  // A residual sum adds two values computed from the image; a position embedding (a constant, or one resized from
  // constants) is not a block's output.
  const fromImage = new Set<Value>([chain[0]!]);
  for (const n of nodes) if (n.inputs.some((v) => v && fromImage.has(v))) n.outputs.forEach((o) => fromImage.add(o));
  const residual = (v: Value) => v.producer!.inputs.filter((i) => i && fromImage.has(i)).length > 1;
  const sums = chain.filter(
    (v) => v.type?.shape?.length === 3 && ['Add', 'Sum'].includes(v.producer?.opType ?? '') && residual(v),
  );
  const pos = new Map(nodes.map((n, i) => [n, i]));
  return sums.filter((v, k) => {
    const nextSum = sums[k + 1];
    if (!nextSum) return true;
    const [a, b] = [pos.get(v.producer!) ?? -1, pos.get(nextSum.producer!) ?? -1];
    return nodes.slice(a + 1, b).some((n) => n.opType === 'Softmax');
  });
}

// Taps found by walking the graph (after shape inference): works for any CNN classifier ending in pool → Gemm/MatMul.
export function autoTaps(g: Graph): Taps {
  const logits = g.outputs[0];
  const source = classifierIO(g).input;
  if (!logits || !source) throw new UserError(`graph '${g.name}' has no input or output, so it has no taps`);
  const lin = finalLinear(logits);
  if (!lin) {
    throw new UserError(
      `cannot find the classifier (a final Gemm or MatMul before output '${logits.name}'), so no taps were found automatically`,
      'name the values to tap explicitly',
    );
  }
  const nodes = pathNodes(g, source, lin.input);
  const chain = mainPath(g, source, lin.input, nodes);
  const stem = stemOf(chain);
  const stages = stageValues(chain, stem).map(([v, layout], i) => tap(`f${i + 1}`, v, layout));
  const blocks = tokenBlocks(chain, nodes).map((v, i) => tap(`b${i + 1}`, v, 'tokens'));
  const embedding = lin.conv ? pooledEmbedding(lin.input) : tap('embedding', lin.input);
  return {
    stages,
    ...(stem ? { stem: tap('f0', stem) } : {}),
    ...(blocks.length ? { blocks } : {}),
    embedding,
    logits: tap('logits', logits),
    source: 'auto',
  };
}

// A conv classifier's embedding: its input map, globally average-pooled to [N, C] when the network is placed.
function pooledEmbedding(map: Value): Tap {
  const s = map.type?.shape;
  return {
    name: 'embedding',
    value: map.name,
    shape: s ? [s[0]!, s[1]!] : undefined,
    layout: 'vector',
    view: 'global-pool',
  };
}

// Taps a zoo model recorded in its metadata (`onnx_distill.taps`), or undefined when absent or stale.
export function metadataTaps(model: Model): Taps | undefined {
  const text = model.metadata().get(TAPS_METADATA_KEY);
  if (!text) return undefined;
  let map: Record<string, string>;
  try {
    map = JSON.parse(text) as Record<string, string>;
  } catch {
    return undefined;
  }
  const g = model.graph;
  const get = (k: string) => (typeof map[k] === 'string' ? g.values.get(map[k]) : undefined);
  const embedding = get('embedding');
  const logits = get('logits') ?? g.outputs[0];
  if (!embedding || !logits) return undefined;
  const stages = Object.keys(map)
    .filter((k) => /^f[1-9]\d*$/.test(k))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .flatMap((k) => {
      const v = get(k);
      return v ? [tap(k, v)] : [];
    });
  const stem = get('f0');
  return {
    stages,
    ...(stem ? { stem: tap('f0', stem) } : {}),
    embedding: tap('embedding', embedding),
    logits: tap('logits', logits),
    source: 'metadata',
  };
}

// The taps of a model: the zoo's recorded names when present, else the automatic walk. Run inferShapes first.
export function findTaps(model: Model): Taps {
  const recorded = metadataTaps(model);
  if (!recorded) return autoTaps(model.graph);
  // A zoo transformer records no stages: its blocks come from the walk, which finds them in any ViT.
  if (recorded.stages.length || recorded.blocks) return recorded;
  const blocks = tryAutoTaps(model.graph)?.blocks;
  return blocks ? { ...recorded, blocks } : recorded;
}

function tryAutoTaps(g: Graph): Taps | undefined {
  try {
    return autoTaps(g);
  } catch (err: unknown) {
    if (err instanceof UserError) return undefined;
    throw err;
  }
}

// A tap the user named: a tap name (`f2`, `embedding`) or any value name of the graph.
export function resolveTap(model: Model, name: string, taps: Taps = findTaps(model)): Tap {
  const all = allTaps(taps);
  const known = all.find((t) => t.name === name);
  if (known) return known;
  const v = model.graph.values.get(name);
  if (v && !v.constant) return tap(name, v);
  throw new UserError(
    `no tap or value named '${name}' in graph '${model.graph.name}'`,
    `tap names: ${all.map((t) => t.name).join(', ')}; any value name works too (see \`onnx-distill inspect\`)`,
  );
}
