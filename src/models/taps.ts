import type { Graph, Node, Shape, Value } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';
import { TAPS_METADATA_KEY } from '../zoo/types.js';

// One named intermediate value that a distillation loss can read (a feature map, the embedding, the logits).
export interface Tap {
  name: string;
  value: string;
  shape: Shape | undefined;
}

// The taps of a classifier: stage outputs (`f1..`), the optional stem (`f0`), the pooled embedding and the logits.
export interface Taps {
  stages: Tap[];
  stem?: Tap;
  embedding: Tap;
  logits: Tap;
  // Where they came from: the zoo's metadata, or the graph walk.
  source: 'metadata' | 'auto';
}

const tap = (name: string, v: Value): Tap => ({ name, value: v.name, shape: v.type?.shape });

// Ops that only pass the classifier's input through (or normalise the logits) between the last Gemm and the output.
const PASS_THROUGH = new Set(['Identity', 'Softmax', 'LogSoftmax', 'Flatten', 'Reshape', 'Squeeze', 'Dropout', 'Cast']);

// The final Gemm/MatMul that produces the logits, walking back from the graph output.
function finalLinear(logits: Value): { node: Node; input: Value } | undefined {
  let v: Value | undefined = logits;
  for (let hop = 0; v?.producer && hop < 16; hop++) {
    const n: Node = v.producer;
    if (n.opType === 'Gemm' || n.opType === 'MatMul') {
      const x = n.opType === 'MatMul' && n.inputs[0]?.constant ? n.inputs[1] : n.inputs[0];
      return x ? { node: n, input: x } : undefined;
    }
    if (n.opType === 'Add' && n.inputs.some((i) => i?.constant)) v = n.inputs.find((i) => i && !i.constant);
    else if (PASS_THROUGH.has(n.opType)) v = n.inputs[0];
    else return undefined;
  }
  return undefined;
}

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
    if (!n.inputs.some((v) => v && down.has(v))) continue;
    n.outputs.forEach((o) => down.add(o));
    if (up.has(n)) out.push(n);
  }
  return out;
}

// The main path: values every path from the input to `sink` goes through (dominators), in order. In a topological
// order a value is one exactly when it is the only value crossing the cut just after its producer.
export function mainPath(g: Graph, source: Value, sink: Value): Value[] {
  const nodes = pathNodes(g, source, sink);
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
    for (let i = Math.max(born.get(v)!, 0); i < end; i++) { crossing[i]! += 1; only[i] = v; }
  }
  const chain = [source];
  nodes.forEach((n, i) => { if (crossing[i] === 1 && only[i]!.producer === n) chain.push(only[i]!); });
  chain.push(sink);
  return chain;
}

// [H, W] of an NCHW feature map; 'pooled' once the spatial dims are gone (vector or 1x1), undefined for other ranks
// (e.g. the 5-D view of a channel shuffle) or unknown shapes.
function spatial(v: Value): [number, number] | 'pooled' | undefined {
  const s = v.type?.shape;
  if (!s) return undefined;
  if (s.length < 4) return 'pooled';
  if (s.length !== 4 || typeof s[2] !== 'number' || typeof s[3] !== 'number') return undefined;
  return s[2] * s[3] > 1 ? [s[2], s[3]] : 'pooled';
}

// Single-input ops that follow a conv in a conv→BN→activation unit.
const UNIT_TAIL = new Set(['BatchNormalization', 'BatchNormTrain', 'Relu', 'Clip', 'LeakyRelu', 'HardSwish', 'Sigmoid', 'Mul', 'PRelu']);

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

// Stage outputs: the last main-path value at each spatial resolution, up to the global pooling. In a block-structured
// network, a first resolution where only the stem unit runs (ImageNet ResNet's 112x112) is the stem's, not a stage.
function stageValues(chain: Value[], stem: Value | undefined): Value[] {
  const groups: Value[][] = [];
  let key = '';
  for (const v of chain.slice(1)) {
    const s = spatial(v);
    if (s === 'pooled' && groups.length) break;
    if (!s || s === 'pooled') continue;
    const k = s.join('x');
    if (k !== key) groups.push([]);
    key = k;
    groups[groups.length - 1]!.push(v);
  }
  const first = groups[0];
  if (groups.length > 1 && first && first[first.length - 1] === stem && chain.some(isMerge)) groups.shift();
  return groups.map((grp) => grp[grp.length - 1]!);
}

// Taps found by walking the graph (after shape inference): works for any CNN classifier ending in pool → Gemm/MatMul.
export function autoTaps(g: Graph): Taps {
  const logits = g.outputs[0];
  const source = g.inputs.find((v) => !v.constant);
  if (!logits || !source) throw new UserError(`graph '${g.name}' has no input or output, so it has no taps`);
  const lin = finalLinear(logits);
  if (!lin) {
    throw new UserError(`cannot find the classifier (a final Gemm or MatMul before output '${logits.name}'), so no taps were found automatically`,
      'name the values to tap explicitly');
  }
  const chain = mainPath(g, source, lin.input);
  const stem = stemOf(chain);
  const stages = stageValues(chain, stem).map((v, i) => tap(`f${i + 1}`, v));
  return { stages, ...(stem ? { stem: tap('f0', stem) } : {}), embedding: tap('embedding', lin.input), logits: tap('logits', logits), source: 'auto' };
}

// Taps a zoo model recorded in its metadata (`onnx_distill.taps`), or undefined when absent or stale.
export function metadataTaps(model: Model): Taps | undefined {
  const text = model.metadata().get(TAPS_METADATA_KEY);
  if (!text) return undefined;
  let map: Record<string, string>;
  try { map = JSON.parse(text) as Record<string, string>; } catch { return undefined; }
  const g = model.graph;
  const get = (k: string) => (typeof map[k] === 'string' ? g.values.get(map[k]) : undefined);
  const embedding = get('embedding');
  const logits = get('logits') ?? g.outputs[0];
  if (!embedding || !logits) return undefined;
  const stages = Object.keys(map).filter((k) => /^f[1-9]\d*$/.test(k)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .flatMap((k) => { const v = get(k); return v ? [tap(k, v)] : []; });
  const stem = get('f0');
  return { stages, ...(stem ? { stem: tap('f0', stem) } : {}), embedding: tap('embedding', embedding), logits: tap('logits', logits), source: 'metadata' };
}

// The taps of a model: the zoo's recorded names when present, else the automatic walk. Run inferShapes first.
export function findTaps(model: Model): Taps {
  return metadataTaps(model) ?? autoTaps(model.graph);
}

// A tap the user named: a tap name (`f2`, `embedding`) or any value name of the graph.
export function resolveTap(model: Model, name: string, taps: Taps = findTaps(model)): Tap {
  const all = [...(taps.stem ? [taps.stem] : []), ...taps.stages, taps.embedding, taps.logits];
  const known = all.find((t) => t.name === name);
  if (known) return known;
  const v = model.graph.values.get(name);
  if (v && !v.constant) return tap(name, v);
  throw new UserError(`no tap or value named '${name}' in graph '${model.graph.name}'`,
    `tap names: ${all.map((t) => t.name).join(', ')}; any value name works too (see \`onnx-distill inspect\`)`);
}
