import type { Builder } from '../ir/builder.js';
import type { Node, Value } from '../ir/graph.js';
import type { GradRuleDef } from './types.js';

// Local derivative of a one-input element-wise op, given its input x, output y and the incoming dy.
export type UnaryGrad = (b: Builder, dy: Value, x: Value, y: Value, node: Node) => Value;

// Build the rule of a one-input element-wise op from its local derivative (other inputs get no gradient).
export function unaryRule(ops: string[], f: UnaryGrad): GradRuleDef {
  return {
    ops,
    grad: ({ b, node, gradOut: [dy], needs }) =>
      dy && needs[0] ? [f(b, dy, node.input(0), node.outputs[0]!, node)] : [],
  };
}

// A float mask (1 where cond holds, else 0) of a boolean value.
export function mask(b: Builder, cond: Value): Value {
  return b.op.Cast!([cond], { to: 1 });
}
