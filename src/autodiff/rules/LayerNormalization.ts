import type { Value } from '../../ir/graph.js';
import { unbroadcast } from '../broadcast.js';
import type { GradRuleDef } from '../types.js';
import { normBackward, type NormStats } from './_norm-util.js';

// y = xhat * scale + bias, xhat = (x - mean) * invstd over the axes from `axis` on (transformers, ConvNeXt):
//   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * scale,  dscale = sum(dy * xhat), dbias = sum(dy)
// (sums over the leading axes, and over any axis scale/bias broadcast along). The forward's own Mean and InvStdDev
// outputs are reused (added to the node when the model left them out), so the backward reads x once more, not thrice.
export const rule: GradRuleDef = {
  ops: ['LayerNormalization'],
  grad: ({ b, node, gradOut: [dy, dMean, dInvstd], needs }) => {
    if (dMean || dInvstd)
      throw new Error(`${node.label}: gradients through LayerNormalization's Mean/InvStdDev outputs are not supported`);
    if (!dy) return [];
    const x = node.input(0);
    const r = x.rank;
    const axis = node.attrInt('axis', -1) < 0 ? node.attrInt('axis', -1) + r : node.attrInt('axis', -1);
    const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
    const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
    const stat = (i: number): Value => {
      let v = node.outputs[i];
      if (!v) {
        v = b.graph.newValue(`${node.name}/${i === 1 ? 'mean' : 'invstd'}`);
        node.outputs.push(v);
        v.producer = node;
      }
      v.type = { dtype: 'float32', shape: [...statShape] };
      return v;
    };
    if (node.outputs.length < 2) stat(1);
    const invstd = stat(2);
    const s: NormStats = { xhat: b.mul(b.sub(x, stat(1)), invstd), invstd };
    const scale = node.input(1);
    const grads: (Value | undefined)[] = [];
    if (needs[0]) grads[0] = normBackward(b, b.mul(dy, scale), s, axes);
    if (needs[1]) grads[1] = unbroadcast(b, b.mul(dy, s.xhat), scale.shape);
    if (needs[2] && node.inputs[2]) grads[2] = unbroadcast(b, dy, node.inputs[2].shape);
    return grads;
  },
};
