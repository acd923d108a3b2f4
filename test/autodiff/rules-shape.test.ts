// Finite-difference checks of the layout, indexing and resampling rules: odd sizes, negative axes and steps, unused outputs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Builder } from '../../src/ir/builder.js';
import type { Value } from '../../src/ir/graph.js';
import { Tensor } from '../../src/ir/tensor.js';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck, type CheckInput } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

type Case = [string, CheckInput[], (b: Builder, v: Value[]) => Value | Value[]];
const x = (shape: number[]): CheckInput => ({ name: 'x', shape });
const y = (shape: number[]): CheckInput => ({ name: 'y', shape });
const i64 = (b: Builder, v: number[]) => b.constant(v, 'int64');
const slice = (b: Builder, a: Value, starts: number[], ends: number[], axes: number[], steps?: number[]) =>
  b.op.Slice!([a, i64(b, starts), i64(b, ends), i64(b, axes), ...(steps ? [i64(b, steps)] : [])]);
const resize = (
  b: Builder,
  a: Value,
  attrs: Record<string, string | number | number[]>,
  scales?: number[],
  sizes?: number[],
) =>
  b.op.Resize!(
    [
      a,
      undefined,
      scales ? b.constant(Tensor.float32([scales.length], scales)) : undefined,
      sizes ? i64(b, sizes) : undefined,
    ],
    attrs,
  );

const cases: Case[] = [
  ['Expand with new leading axes and a size-1 axis', [x([3, 1])], (b, [a]) => b.op.Expand!([a!, i64(b, [2, 3, 4])])],
  ['Expand to a shape smaller in rank (bidirectional)', [x([2, 1, 3])], (b, [a]) => b.op.Expand!([a!, i64(b, [4, 1])])],
  [
    'Flatten axis 0, -1 and default',
    [x([2, 3, 5])],
    (b, [a]) => [b.op.Flatten!([a!], { axis: 0 }), b.op.Flatten!([a!], { axis: -1 }), b.op.Flatten!([a!])],
  ],
  ['Reshape with 0 and -1', [x([2, 3, 4])], (b, [a]) => b.op.Reshape!([a!, i64(b, [0, -1, 2])])],
  [
    'Squeeze (axes input, negative) and Unsqueeze (two axes)',
    [x([3, 1, 5, 1])],
    (b, [a]) => [b.op.Squeeze!([a!, i64(b, [-1, 1])]), b.op.Unsqueeze!([a!, i64(b, [0, -1])])],
  ],
  [
    'Transpose default (reversed) and explicit perm',
    [x([2, 3, 4])],
    (b, [a]) => [b.op.Transpose!([a!]), b.transpose(a!, [1, 2, 0])],
  ],
  [
    'Concat three inputs, one repeated, axis -2',
    [x([2, 3, 4]), y([2, 1, 4])],
    (b, [a, c]) => b.op.Concat!([a!, c!, a!], { axis: -2 }),
  ],
  [
    'Split equal parts by num_outputs, all used',
    [x([6, 3])],
    (b, [a]) => b.node('Split', [a!], { axis: 0, num_outputs: 3 }, { outputs: 3 }),
  ],
  [
    'Split sizes input, negative axis, middle output unused',
    [x([2, 9])],
    (b, [a]) => {
      const [p, , q] = b.node('Split', [a!, i64(b, [2, 3, 4])], { axis: -1 }, { outputs: 3 });
      return [p!, q!];
    },
  ],
  [
    'Split uneven by num_outputs (opset 18), last part smaller',
    [x([7, 2])],
    (b, [a]) => b.node('Split', [a!], { axis: 0, num_outputs: 3 }, { outputs: 3 }).slice(1),
  ],
  ['Slice step 1, negative start, clamped end', [x([3, 8])], (b, [a]) => slice(b, a!, [1, -5], [3, 1000], [0, 1])],
  [
    'Slice step 2 (even and odd extents)',
    [x([5, 7])],
    (b, [a]) => [slice(b, a!, [0], [7], [1], [2]), slice(b, a!, [1], [5], [0], [2])],
  ],
  ['Slice step 3 overhanging the end', [x([2, 8])], (b, [a]) => slice(b, a!, [1], [8], [-1], [3])],
  ['Slice step -1 (reverse)', [x([3, 5])], (b, [a]) => slice(b, a!, [-1], [-1000], [1], [-1])],
  ['Slice step -2 from inside, two axes', [x([4, 7])], (b, [a]) => slice(b, a!, [3, 5], [-1000, 0], [0, 1], [-1, -2])],
  ['Slice steps 2 and -3 together', [x([6, 9])], (b, [a]) => slice(b, a!, [1, 8], [6, 0], [0, 1], [2, -3])],
  [
    'Pad constant with negative pads and axes input',
    [x([3, 5])],
    (b, [a]) => b.op.Pad!([a!, i64(b, [1, -2, 2, -1]), undefined, i64(b, [-1, 0])]),
  ],
  [
    'Pad constant: gradient to the pad value',
    [x([2, 3]), y([])],
    (b, [a, v]) => b.op.Pad!([a!, i64(b, [1, 0, 2, 3]), v!]),
  ],
  [
    'Pad reflect on two axes',
    [x([2, 4, 5])],
    (b, [a]) => b.op.Pad!([a!, i64(b, [0, 2, 1, 0, 3, 4])], { mode: 'reflect' }),
  ],
  ['Pad edge, wider than the input', [x([3, 2])], (b, [a]) => b.op.Pad!([a!, i64(b, [2, 3, 1, 4])], { mode: 'edge' })],
  [
    'Gather axis 0, repeated and negative indices',
    [x([5, 3])],
    (b, [a]) => b.op.Gather!([a!, i64(b, [4, 0, -1, 2, 0])], { axis: 0 }),
  ],
  [
    'Gather axis -1 with 2-D indices',
    [x([2, 3, 6])],
    (b, [a]) =>
      b.op.Gather!([a!, b.constant(new Tensor('int64', [2, 2], BigInt64Array.from([5n, 1n, 1n, -6n])))], { axis: -1 }),
  ],
  [
    'Gather middle axis, scalar index',
    [x([2, 4, 3])],
    (b, [a]) => b.op.Gather!([a!, b.constant(new Tensor('int64', [], BigInt64Array.from([2n])))], { axis: 1 }),
  ],
  [
    'Gather with runtime indices',
    [x([4, 3]), { name: 'i', shape: [3], dtype: 'int64', values: [3, -4, 3] }],
    (b, [a, i]) => b.op.Gather!([a!, i!], { axis: 0 }),
  ],
  [
    'GatherElements axis 1, repeated indices',
    [x([3, 4])],
    (b, [a]) =>
      b.op.GatherElements!(
        [a!, b.constant(new Tensor('int64', [3, 2], BigInt64Array.from([0n, 0n, 3n, 1n, 2n, 2n])))],
        { axis: 1 },
      ),
  ],
  [
    'Resize nearest x2 (asymmetric, floor)',
    [x([1, 2, 3, 4])],
    (b, [a]) =>
      resize(
        b,
        a!,
        { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
        [1, 1, 2, 2],
      ),
  ],
  [
    'Resize nearest to sizes 5x7 (half_pixel, round_prefer_floor)',
    [x([1, 1, 3, 4])],
    (b, [a]) => resize(b, a!, { mode: 'nearest' }, undefined, [1, 1, 5, 7]),
  ],
  [
    'Resize nearest downsample (round_prefer_ceil)',
    [x([1, 2, 6, 5])],
    (b, [a]) => resize(b, a!, { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, [1, 1, 0.5, 0.6]),
  ],
  ['Resize linear half_pixel x2', [x([2, 1, 3, 4])], (b, [a]) => resize(b, a!, { mode: 'linear' }, [1, 1, 2, 2])],
  [
    'Resize linear align_corners to sizes 5x3',
    [x([1, 2, 4, 4])],
    (b, [a]) =>
      resize(b, a!, { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, undefined, [1, 2, 5, 3]),
  ],
  [
    'Resize trilinear pytorch_half_pixel downsample, leading axis too',
    [x([4, 7, 6])],
    (b, [a]) =>
      resize(b, a!, { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, [0.5, 0.5, 0.7]),
  ],
  [
    'Resize linear half_pixel_symmetric upsample',
    [x([1, 2, 3, 5])],
    (b, [a]) =>
      resize(b, a!, { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, [1, 1, 2.5, 1.5]),
  ],
  [
    'Resize nearest tf_half_pixel_for_nn, ceil',
    [x([1, 1, 5, 4])],
    (b, [a]) =>
      resize(
        b,
        a!,
        { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: 'ceil' },
        [1, 1, 1.5, 0.75],
      ),
  ],
  [
    'Resize linear asymmetric with axes attribute',
    [x([2, 3, 5])],
    (b, [a]) => resize(b, a!, { mode: 'linear', coordinate_transformation_mode: 'asymmetric', axes: [-1] }, [1.6]),
  ],
  [
    'Resize linear keep_aspect_ratio not_larger',
    [x([1, 1, 4, 6])],
    (b, [a]) =>
      resize(b, a!, { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, undefined, [6, 12]),
  ],
  ['Resize cubic half_pixel x2', [x([1, 1, 4, 5])], (b, [a]) => resize(b, a!, { mode: 'cubic' }, [1, 1, 2, 1.6])],
  [
    'Resize cubic exclude_outside, a = -0.5, downsample',
    [x([1, 1, 7, 6])],
    (b, [a]) => resize(b, a!, { mode: 'cubic', exclude_outside: 1, cubic_coeff_a: -0.5 }, undefined, [1, 1, 4, 5]),
  ],
];

for (const [name, inputs, build] of cases) {
  test(name, async () => {
    const r = await gradcheck({ inputs, build }, rt);
    assert.ok(r.worst <= 1, `${name}: worst ratio ${r.worst.toFixed(3)}\n${r.details.join('\n')}`);
  });
}
