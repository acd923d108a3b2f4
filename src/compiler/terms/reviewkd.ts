// Knowledge review (ReviewKD, arXiv 2104.09044, dvlab-research/ReviewKD `CIFAR-100/model/reviewkd.py`), on three
// levels: the student's last two stage maps s1, s2 and its embedding s3 (as [N, D, 1, 1]), against the teacher's t1..t3.
// Attention-based fusion (ABF), from the deepest level up, r the residual handed to the next shallower level:
//   x = BN(Conv1×1(s_i));  deepest: r = x;  else y = nearest(r_{i+1}, size of s_i),
//       (a, b) = sigmoid(Conv1×1([x, y]) + bias) (two maps),  r = a·x + b·y
//   r ← nearest(r, size of t_i);  o_i = BN(Conv3×3(r))       (mid channels `mid`, o_i has t_i's channels)
// Hierarchical context loss per level, pooled at 4, 2, 1 where smaller than the map, weights halving:
//   hcl(o, t) = [mse(o, t) + Σ_k 2^−k·mse(pool_l(o), pool_l(t))] / (1 + Σ_k 2^−k),   L = Σ_i hcl(o_i, t_i).
// The ABF modules are trained with the student (BatchNorm on batch statistics, running statistics carried); their
// convolutions start as the reference's kaiming_uniform_(a=1) (bound √(3/fan_in)), the attention conv as nn.Conv2d's
// default (bound 1/√fan_in). The reference reads pre-activation teacher maps (`preact=True`); the automatic taps are
// stage outputs, so this reads those [ours]. Default mid 64 (the reference's CIFAR ResNet setting).
import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { UserError } from '../../util/errors.js';
import { filledTensor, uniformTensor } from '../../ir/init.js';
import { formatShape, meanAll, slotShape } from './_common.js';
import { adaptivePool2d } from './ifm.js';
import type { LossTermDef, ModuleBuilder } from './types.js';

const LEVELS = [1, 2, 3] as const;

// F.interpolate(x, (oh, ow), mode='nearest'): source index floor(i·in/out), as two MatMuls with 0/1 matrices.
export function nearest2d(b: Builder, x: Value, oh: number, ow: number): Value {
  const [, , h, w] = x.shape as number[];
  const pick = (out: number, inp: number) => {
    const m = new Float32Array(out * inp);
    for (let i = 0; i < out; i++) m[i * inp + Math.floor((i * inp) / out)] = 1;
    return new Tensor('float32', [out, inp], m);
  };
  let y = x;
  if (oh !== h) y = b.matmul(b.constant(pick(oh, h!)), y);
  if (ow !== w) y = b.matmul(y, b.transpose(b.constant(pick(ow, w!)), [1, 0]));
  return y;
}

// The maps of one side as [N, C, H, W]: the embedding slot (rank 2) becomes [N, D, 1, 1].
function asMaps(shapes: Record<string, number[]>, side: 's' | 't'): number[][] {
  return LEVELS.map((i) => {
    const s = slotShape('reviewkd', shapes, `${side}${i}`);
    return s.length === 2 ? [s[0]!, s[1]!, 1, 1] : s;
  });
}

// Check ranks and batch sizes; the levels run from shallow (1) to deep (3).
function checkShapes(shapes: Record<string, number[]>): void {
  for (const side of ['s', 't'] as const) {
    const [a, c, e] = LEVELS.map((i) => slotShape('reviewkd', shapes, `${side}${i}`));
    if (a!.length !== 4 || c!.length !== 4 || (e!.length !== 2 && e!.length !== 4)) {
      throw new UserError(
        `reviewkd: slots '${side}1' ${formatShape(a!)} and '${side}2' ${formatShape(c!)} must be stage maps [N, C, H, W] and '${side}3' ${formatShape(e!)} an embedding [N, D] or map`,
      );
    }
  }
  const n = shapes.s1![0];
  for (const k of Object.keys(shapes)) {
    if (shapes[k]![0] !== n)
      throw new UserError(
        `reviewkd: slots 's1' ${formatShape(shapes.s1!)} and '${k}' ${formatShape(shapes[k]!)} have different batch sizes`,
      );
  }
}

// Conv (no bias) → BatchNorm, weights under the given kaiming bound; BN γ 1, β 0, running mean 0, var 1.
function convBn(b: Builder, m: ModuleBuilder, name: string, x: Value, cout: number, k: number): Value {
  const cin = x.shape[1]!;
  const w = m.param(`${name}.conv.weight`, uniformTensor(m.rng, [cout, cin, k, k], Math.sqrt(3 / (cin * k * k))));
  const y = b.op.Conv!([x, w], { kernel_shape: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] });
  const bn = [
    m.param(`${name}.bn.weight`, filledTensor([cout], 1)),
    m.param(`${name}.bn.bias`, filledTensor([cout], 0)),
    m.buffer(`${name}.bn.running_mean`, filledTensor([cout], 0)),
    m.buffer(`${name}.bn.running_var`, filledTensor([cout], 1)),
  ];
  return b.op.BatchNormalization!([y, ...bn], { epsilon: 1e-5, momentum: 0.9 });
}

// Attention fusion of the level's transformed map x with the deeper residual y (same size): a·x + b·y.
function fuse(b: Builder, m: ModuleBuilder, name: string, x: Value, y: Value): Value {
  const c2 = 2 * x.shape[1]!;
  const bound = 1 / Math.sqrt(c2);
  const w = m.param(`${name}.att.weight`, uniformTensor(m.rng, [2, c2, 1, 1], bound));
  const bias = m.param(`${name}.att.bias`, uniformTensor(m.rng, [2], bound));
  const z = b.op.Sigmoid!([b.op.Conv!([b.op.Concat!([x, y], { axis: 1 }), w, bias], { kernel_shape: [1, 1] })]);
  const [za, zb] = b.node('Split', [z, b.constant([1, 1], 'int64')], { axis: 1 }, { outputs: 2 }) as [Value, Value];
  return b.add(b.mul(x, za), b.mul(y, zb));
}

// The hierarchical context loss of one level.
export function hcl(b: Builder, o: Value, t: Value): Value {
  const mse = (p: Value, q: Value) => {
    const d = b.sub(p, q);
    return meanAll(b, b.mul(d, d));
  };
  const h = o.shape[2]!;
  let loss = mse(o, t),
    cnt = 1,
    tot = 1;
  for (const l of [4, 2, 1]) {
    if (l >= h) continue;
    cnt /= 2;
    loss = b.add(loss, b.mul(mse(adaptivePool2d(b, o, l, l), adaptivePool2d(b, t, l, l)), cnt));
    tot += cnt;
  }
  return b.div(loss, tot);
}

// The student reviews its deeper stages through fusion modules and matches every teacher level.
export const term: LossTermDef = {
  name: 'reviewkd',
  describe: "knowledge review: attention-fused student levels (ABF) against the teacher's, hierarchical context loss",
  paper: 'arXiv 2104.09044',
  slots: [
    { name: 's1', tap: 'f2' },
    { name: 's2', tap: 'f3' },
    { name: 's3', tap: 'embedding' },
    { name: 't1', tap: 'f2', target: true },
    { name: 't2', tap: 'f3', target: true },
    { name: 't3', tap: 'embedding', target: true },
  ],
  defaults: { mid: 64 },
  label: (o) => `mid ${o.mid}`,
  check: (shapes) => checkShapes(shapes),
  build: ({ b, taps, options, module }) => {
    const shapes = Object.fromEntries(Object.entries(taps).map(([k, v]) => [k, v.shape]));
    const [ss, ts] = [asMaps(shapes, 's'), asMaps(shapes, 't')];
    const map = (v: Value, s: number[]) => (v.shape.length === 2 ? b.reshape(v, s) : v);
    const mid = options.mid ?? 64;
    let res: Value | undefined;
    let total: Value | undefined;
    for (let i = LEVELS.length - 1; i >= 0; i--) {
      const name = `abf${i + 1}`;
      let x = convBn(b, module, `${name}.conv1`, map(taps[`s${i + 1}`]!, ss[i]!), mid, 1);
      if (res) x = fuse(b, module, name, x, nearest2d(b, res, ss[i]![2]!, ss[i]![3]!));
      // The residual handed up is x at the teacher level's size, as the reference's ABF returns it.
      res = nearest2d(b, x, ts[i]![2]!, ts[i]![3]!);
      const out = convBn(b, module, `${name}.conv2`, res, ts[i]![1]!, 3);
      const l = hcl(b, out, map(taps[`t${i + 1}`]!, ts[i]!));
      total = total ? b.add(total, l) : l;
    }
    return total!;
  },
};
