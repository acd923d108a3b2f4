import { normAxis } from '../../ir/shapes/util.js';
import type { Value } from '../../ir/graph.js';
import type { GradRuleDef } from '../types.js';
// y = gather(x, idx, axis): dx[.., i, ..] = sum over k with idx[k] = i of dy[.., k, ..] (repeated indices accumulate).
// Lowered as one ScatterND with reduction 'add' into zeros, the gathered axis moved to the front:
//   dy [P, K, Q] -> [K, P, Q];  dx' = ScatterND(zeros [D, P, Q], idx [K, 1], dy', add) -> [P, D, Q] -> x's shape.
// Negative indices are wrapped at compile time when constant, else with a Where at run time. No gradient to idx.
export const rule: GradRuleDef = {
  ops: ['Gather'],
  grad: ({ b, node, gradOut: [dy], needs }) => {
    if (!dy || !needs[0]) return [];
    const [x, idx] = [node.input(0), node.input(1)];
    const ax = normAxis(node.attrInt('axis', 0), x.rank);
    const d = x.shape[ax]!;
    const p = x.shape.slice(0, ax).reduce((s, v) => s * v, 1);
    const q = x.shape.slice(ax + 1).reduce((s, v) => s * v, 1);
    const k = idx.shape.reduce((s, v) => s * v, 1);
    const c = idx.constant?.toNumbers();
    let flatIdx: Value;
    if (c)
      flatIdx = b.constant(
        c.map((i) => (i < 0 ? i + d : i)),
        'int64',
      );
    else {
      const i64 = idx.dtype === 'int64' ? idx : b.op.Cast!([idx], { to: 7 });
      const flat = b.reshape(i64, [k]);
      flatIdx = b.op.Where!([b.op.Less!([flat, 0]), b.add(flat, d), flat]);
    }
    const g = p === 1 ? b.reshape(dy, [k, 1, q]) : b.transpose(b.reshape(dy, [p, k, q]), [1, 0, 2]);
    const zeros = b.op.ConstantOfShape!([b.constant([d, p, q], 'int64')]);
    const acc = b.op.ScatterND!([zeros, b.reshape(flatIdx, [k, 1]), g], { reduction: 'add' });
    return [b.reshape(p === 1 ? acc : b.transpose(acc, [1, 0, 2]), x.shape)];
  },
};
