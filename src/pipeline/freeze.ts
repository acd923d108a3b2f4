// --freeze <tap|pattern>[,...]: keep early parts of a (pretrained) student fixed, as torch's requires_grad_(False) on
// them plus eval() on their BatchNorms. A tap (`f1`, `f2`, `embedding`, or any value name) freezes every learned
// tensor it is computed from; a pattern (`conv1.*`, `layer1.*`; `*` matches any run of characters) freezes the learned
// tensors whose names match. Frozen tensors are constants of the step: no gradient, no optimizer update, and a
// BatchNorm whose scale is frozen normalises with its running statistics, which stay as they are.
import type { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { copyGraph, probeShapes } from '../ir/classifier.js';
import { classifyInitializers } from '../ir/params.js';
import { findTaps, resolveTap } from '../models/taps.js';
import { UserError } from '../util/errors.js';

// The names of the learned tensors (weights and BatchNorm statistics) `--freeze` selects in `model`.
export function frozenNames(model: Model, spec: string, option = '--freeze'): Set<string> {
  const g = shapedCopy(model);
  const m = new Model(g, model.opsets, model.proto);
  const { params, buffers } = classifyInitializers(g);
  const learned = [...params, ...buffers].map((v) => v.name);
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!items.length) throw new UserError(`${option}: '${spec}' names no tap or pattern`);
  const out = new Set<string>();
  for (const item of items) {
    const hits = item.includes('*') ? learned.filter((n) => glob(item).test(n)) : upstreamOf(m, item, learned, option);
    if (!hits.length) {
      throw new UserError(
        `${option}: '${item}' ${item.includes('*') ? "matches none of the student's learned tensors" : 'freezes nothing'}`,
        `give a tap (${tapNames(m).join(', ')}), a value name, or a pattern over parameter names such as ${learned[0] ?? 'conv1.weight'} (e.g. '${learned[0]?.split('.')[0] ?? 'conv1'}.*')`,
      );
    }
    for (const n of hits) out.add(n);
  }
  return out;
}

function shapedCopy(model: Model): Graph {
  const g = copyGraph(model);
  probeShapes(g);
  return g;
}

// Learned tensors the value of a tap is computed from (walking producers back to the image).
function upstreamOf(m: Model, name: string, learned: string[], option: string): string[] {
  const g = m.graph;
  let value: string;
  try {
    value = resolveTap(m, name).value;
  } catch (err: unknown) {
    if (err instanceof UserError)
      throw new UserError(
        `${option}: '${name}' is neither a tap nor a value of the student, and has no '*' to make it a pattern`,
        `taps: ${tapNames(m).join(', ')}; a pattern: 'conv1.*'`,
      );
    throw err;
  }
  const wanted = new Set(learned);
  const seen = new Set<string>();
  const stack = [g.values.get(value)!];
  const hits: string[] = [];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    if (wanted.has(v.name)) hits.push(v.name);
    for (const i of v.producer?.inputs ?? []) if (i) stack.push(i);
  }
  return learned.filter((n) => hits.includes(n));
}

function tapNames(m: Model): string[] {
  try {
    const t = findTaps(m);
    return [...(t.stem ? [t.stem.name] : []), ...t.stages.map((s) => s.name), t.embedding.name];
  } catch {
    return [];
  }
}

function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}
