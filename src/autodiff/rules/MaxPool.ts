import type { GradRuleDef } from '../types.js';

// dx = scatter-add of dy into the argmax positions. The forward node is given its Indices output (flat indices into x,
// as onnxruntime computes them with storage_order 0), so the gradient reuses the forward's argmax instead of recomputing it.
export const rule: GradRuleDef = {
  ops: ['MaxPool'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const x = node.input(0);
    if (node.attrInt('storage_order', 0) !== 0) throw new Error(`${node.label}: gradient needs storage_order 0`);
    let idx = node.outputs[1];
    if (!idx) {
      idx = b.graph.newValue(`${node.name}/indices`, { dtype: 'int64', shape: [...dy.shape] });
      node.outputs.push(idx);
      idx.producer = node;
    }
    const size = x.shape.reduce((p, d) => p * d, 1);
    const zeros = b.op.ConstantOfShape!([b.constant([size], 'int64')]);
    const flat = b.op.ScatterElements!([zeros, b.reshape(idx, [-1]), b.reshape(dy, [-1])], {
      axis: 0,
      reduction: 'add',
    });
    return [b.reshape(flat, x.shape)];
  },
};
