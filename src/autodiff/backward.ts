import { Builder } from '../ir/builder.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { isFloat } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { UserError } from '../util/errors.js';
import { gradRuleFor } from './registry.js';

// What to differentiate: a scalar loss with respect to some values, never crossing stop-gradient marks.
export interface BackwardOptions {
  loss: Value;
  wrt: Value[];
  // Values treated as constants: no gradient flows into their producers.
  stopGradient?: Set<Value>;
  // Seed gradient of the loss (default: 1).
  seed?: Value;
}

// Ops that carry no gradient at all (integer/boolean outputs or shape arithmetic).
const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'ArgMax',
  'ArgMin',
  'ConstantOfShape',
  'Constant',
  'Range',
  'OneHot',
  'IsNaN',
  'IsInf',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
]);

// Reverse-mode differentiation over the IR: appends gradient nodes to the graph and returns d(loss)/d(v) for each v in wrt.
export function backward(graph: Graph, opts: BackwardOptions): Map<Value, Value> {
  const stop = opts.stopGradient ?? new Set<Value>();
  const b = new Builder(graph, 'grad');
  // Values that depend on some wrt value through differentiable paths.
  const active = new Set<Value>(opts.wrt);
  const order = graph.nodes.slice();
  for (const n of order) {
    if (NON_DIFFERENTIABLE.has(n.opType) && n.domain === '') continue;
    if (n.inputs.some((v) => v && active.has(v) && !stop.has(v))) {
      for (const o of n.outputs) if (!stop.has(o) && o.type && isFloat(o.type.dtype)) active.add(o);
    }
  }
  if (!active.has(opts.loss)) {
    throw new UserError(
      `the loss '${opts.loss.name}' does not depend on any trainable value; nothing to train (check stop-gradient marks and frozen networks)`,
    );
  }
  // Values the loss depends on (so gradients are only built where they reach the loss).
  const needed = new Set<Value>([opts.loss]);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.outputs.some((o) => needed.has(o))) for (const v of n.inputs) if (v) needed.add(v);
  }
  const pending = new Map<Value, Value[]>();
  const push = (v: Value, g: Value) => {
    const list = pending.get(v);
    if (list) list.push(g);
    else pending.set(v, [g]);
  };
  const total = (v: Value): Value | undefined => {
    const list = pending.get(v);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    // A value used several times (residual connections): its gradient is the sum over uses.
    const s = b.op.Sum!(list);
    pending.set(v, [s]);
    return s;
  };
  const ls = opts.loss.shape;
  const n = ls.reduce((p, d) => p * d, 1);
  const ones =
    opts.loss.dtype === 'float64'
      ? new Tensor('float64', ls, new Float64Array(n).fill(1))
      : Tensor.float32(ls, new Float32Array(n).fill(1));
  push(opts.loss, opts.seed ?? b.constant(ones));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    if (!node.outputs.some((o) => active.has(o) && needed.has(o) && pending.has(o))) continue;
    const needs = node.inputs.map((v) => !!v && active.has(v) && needed.has(v) && !stop.has(v));
    if (!needs.some(Boolean)) continue;
    const def = gradRuleFor(node.opType, node.domain);
    if (!def) {
      throw new UserError(
        `cannot differentiate ${node.opType} node '${node.name}': onnx-distill has no gradient rule for op type '${node.opType}'${node.domain ? ` (domain ${node.domain})` : ''}`,
      );
    }
    const gradOut = node.outputs.map((o) => (stop.has(o) ? undefined : total(o)));
    const grads = def.grad({ b: b.scoped(node.name), node, gradOut, needs });
    node.inputs.forEach((v, k) => {
      const g = grads[k];
      if (v && needs[k] && g) push(v, g);
    });
  }
  const out = new Map<Value, Value>();
  for (const w of opts.wrt) {
    const g = total(w);
    if (g) out.set(w, g);
  }
  return out;
}

// The nodes that produce a value, for error messages.
export function describe(node: Node | undefined): string {
  return node ? node.label : 'a graph input';
}
