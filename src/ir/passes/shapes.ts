import { UserError } from '../../util/errors.js';
import { isFloat } from '../dtype.js';
import type { Graph, Node, Shape, Value } from '../graph.js';
import { SHAPE_RULES } from '../shapes/index.js';
import { foldNode } from './fold.js';
import { topoSort } from './toposort.js';

// Options for shape inference: concrete shapes for graph inputs (e.g. a fixed batch size).
export interface InferOptions {
  inputShapes?: Record<string, number[]>;
  // Replace folded shape arithmetic by initializers (removes Shape/Gather/Concat chains).
  fold?: boolean;
  // Values never folded through (a trainable network's weights: a GroupNorm scale read through Unsqueeze must stay
  // that weight, not become a new constant the optimiser cannot see).
  keep?: ReadonlySet<Value>;
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
        modelProblem(node, () => checkInputTypes(node));
        const types = modelProblem(node, () => rule(node));
        modelProblem(node, () => checkDeclaredOutputs(node, types, g));
        node.outputs.forEach((o, i) => {
          const t = types[i];
          if (t && (t.shape || !o.type?.shape)) o.type = t;
          else if (t && !o.type) o.type = t;
        });
      }
      const folded =
        opts.keep && node.inputs.some((v) => v && opts.keep!.has(v))
          ? undefined
          : modelProblem(node, () => foldNode(node));
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

// Ops defined on floating-point tensors only (every input), and ops whose inputs share one element type.
const FLOAT_ONLY = new Set([
  'Conv',
  'ConvTranspose',
  'BatchNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'AveragePool',
  'GlobalAveragePool',
  'LpPool',
  'Softmax',
  'LogSoftmax',
  'Sigmoid',
  'Tanh',
  'Elu',
  'HardSigmoid',
  'HardSwish',
  'Gelu',
]);
const SAME_TYPE = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Max',
  'Min',
  'Sum',
  'Mean',
  'Concat',
  'Gemm',
  'Conv',
  'ConvTranspose',
  'MatMul',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
]);

// The element types onnxruntime's type check would refuse, where the file declares them (inputs, initializers).
function checkInputTypes(node: Node): void {
  const typed = node.inputs.filter((v) => v?.type);
  if (FLOAT_ONLY.has(node.opType)) {
    const bad = typed.find((v) => !isFloat(v!.type!.dtype));
    if (bad) throw new Error(`input '${bad.name}' is ${bad.type!.dtype}; ${node.opType} takes floating-point tensors`);
  }
  if (SAME_TYPE.has(node.opType) && new Set(typed.map((v) => v!.type!.dtype)).size > 1) {
    throw new Error(`its inputs mix element types (${typed.map((v) => `'${v!.name}' ${v!.type!.dtype}`).join(', ')})`);
  }
}

// A graph output declared with another element type than its node computes.
function checkDeclaredOutputs(
  node: Node,
  types: ReturnType<NonNullable<(typeof SHAPE_RULES)[string]>>,
  g: Graph,
): void {
  node.outputs.forEach((o, i) => {
    const t = types[i];
    if (t && o.type && g.outputs.includes(o) && o.type.dtype !== t.dtype) {
      throw new Error(
        `it computes ${t.dtype} for graph output '${o.name}', which the model declares as ${o.type.dtype}`,
      );
    }
  });
}

// A rule that throws a plain Error met shapes or constants the model gets wrong (inputs that do not broadcast, an
// axis past the rank, a missing attribute): a UserError naming the node. TypeError and friends stay bugs.
function modelProblem<T>(node: Node, f: () => T): T {
  try {
    return f();
  } catch (err: unknown) {
    if (err instanceof Error && err.constructor === Error) {
      throw new UserError(
        `shape inference failed at ${node.label}: ${err.message.replace(`${node.label}: `, '')}`,
        undefined,
      );
    }
    throw err;
  }
}
