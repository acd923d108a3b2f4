import type { GradRuleDef } from '../types.js';
// Shared by Reshape, Flatten, Squeeze and Unsqueeze, which only reinterpret the shape: dx = dy reshaped to x's shape.
export function reshapeBackRule(op: string): GradRuleDef {
  return {
    ops: [op],
    grad: ({ b, node, gradOut: [dy], needs }) => (dy && needs[0] ? [b.reshape(dy, node.input(0).shape)] : []),
  };
}
