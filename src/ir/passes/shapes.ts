import { UserError } from '../../util/errors.js';
import type { Graph, Node, Shape } from '../graph.js';
import { SHAPE_RULES } from '../shapes/index.js';
import { foldNode } from './fold.js';
import { topoSort } from './toposort.js';

// Options for shape inference: concrete shapes for graph inputs (e.g. a fixed batch size).
export interface InferOptions {
  inputShapes?: Record<string, number[]>;
  // Replace folded shape arithmetic by initializers (removes Shape/Gather/Concat chains).
  fold?: boolean;
}

// Infer a static type for every value (and fold shape arithmetic into constants). Returns whether the graph changed.
export function inferShapes(g: Graph, opts: InferOptions = {}): boolean {
  let modified = topoSort(g);
  for (const v of g.inputs) {
    const given = opts.inputShapes?.[v.name];
    if (given) v.type = { dtype: v.type?.dtype ?? 'float32', shape: [...given] };
  }
  for (const node of [...g.nodes]) {
    if (node.domain === '') {
      const rule = SHAPE_RULES[node.opType];
      if (rule) {
        const types = modelProblem(node, () => rule(node));
        node.outputs.forEach((o, i) => {
          const t = types[i];
          if (t && (t.shape || !o.type?.shape)) o.type = t;
          else if (t && !o.type) o.type = t;
        });
      }
      const folded = modelProblem(node, () => foldNode(node));
      if (folded) {
        node.outputs.forEach((o, i) => {
          o.constant = folded[i];
          o.type = { dtype: folded[i]!.dtype, shape: [...folded[i]!.dims] as Shape };
        });
        if (opts.fold && !g.outputs.some((o) => node.outputs.includes(o))) {
          g.removeNode(node);
          for (const o of node.outputs) if (o.uses.length) g.addInitializer(o.name, o.constant!);
          modified = true;
        }
      }
    }
  }
  return modified;
}

// A rule that throws a plain Error met shapes or constants the model gets wrong (inputs that do not broadcast, an
// axis past the rank, a missing attribute): a UserError naming the node. TypeError and friends stay bugs.
function modelProblem<T>(node: Node, f: () => T): T {
  try {
    return f();
  } catch (err: unknown) {
    if (err instanceof Error && err.constructor === Error) {
      throw new UserError(`shape inference failed at ${node.label}: ${err.message.replace(`${node.label}: `, '')}`, undefined);
    }
    throw err;
  }
}
