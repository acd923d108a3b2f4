import type { GradRuleDef } from '../types.js';
// Ops that only reinterpret the shape: the gradient is dy reshaped back to the input's shape.
export const rule: GradRuleDef = {
  ops: ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'],
  grad: ({ b, node, gradOut: [dy], needs }) => (dy && needs[0] ? [b.reshape(dy, node.input(0).shape)] : []),
};
