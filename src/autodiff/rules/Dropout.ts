import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
// y = x * mask / (1 - ratio) in training mode, y = x otherwise:  dx = dy * mask / (1 - ratio)  or  dx = dy.
// The forward node's own mask output is reused (added to the node when the model left it unnamed), so the backward
// sees exactly the mask the forward drew. A training_mode that is not a constant selects between both at run time.
export const rule: GradRuleDef = {
  ops: ['Dropout'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const t = node.inputs[2];
    const training = t ? (t.constant ? t.constant.toNumbers()[0] === 1 : undefined) : false;
    if (training === false) return [dy];
    const r = node.inputs[1];
    const ratioConst = r ? r.constant?.toNumbers()[0] : node.attrFloat('ratio', 0.5);
    const x = node.input(0);
    let m = node.outputs[1];
    if (!m) {
      m = b.graph.newValue(`${node.name}/mask`, { dtype: 'bool', shape: [...x.shape] });
      node.outputs.push(m);
      m.producer = node;
    }
    const zero = b.constant(0, dy.dtype);
    const scale: Value | number =
      ratioConst !== undefined ? 1 / (1 - ratioConst) : b.div(1, b.sub(b.constant(1, r!.dtype), r!));
    const masked = b.mul(b.op.Where!([m, dy, zero]), scale);
    return [training === undefined ? b.op.Where!([t!, masked, dy]) : masked];
  },
};
