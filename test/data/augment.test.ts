// The augmentation parameters (issue 23): presets over torchvision's parameters, their checks (flags and config keys
// with file:line), the resolved config and run.json, and the loader applying them repeatably for a seed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { AUGMENT_OPTIONS } from '../../src/config/augmentOptions.js';
import { AUGMENT_DEFAULTS, describeAugment, padIndex, resolveAugment } from '../../src/data/augment.js';
import { decodeImage } from '../../src/data/decode.js';
import { openData, type Batch } from '../../src/data/index.js';
import { randAugment } from '../../src/data/randAugment.js';
import { mix, DataRng } from '../../src/data/random.js';
import { openIdx } from '../../src/data/sources/idx.js';
import { trivialAugment } from '../../src/data/trivialAugment.js';
import type { MemoryImages } from '../../src/data/types.js';
import { affine, writeNormalized } from '../../src/data/transforms.js';
import { loadModel } from '../../src/ir/model.js';
import { printConfig, resolveDistillConfig } from '../../src/pipeline/distillConfig.js';
import { UserError } from '../../src/util/errors.js';
import { cli, FIXTURES } from '../cli/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-aug-'));
after(() => rmSync(root, { recursive: true, force: true }));
const SUBSET = new URL('../../models/fashion-mnist-subset', import.meta.url).pathname;
const images = join(root, 'images');
before(async () => {
  const idx = openIdx(SUBSET);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 40);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 20);
});

const at28: [number, number, number] = [1, 28, 28];

test("presets keep today's behaviour and take torchvision's parameters", () => {
  assert.deepEqual(resolveAugment('auto', {}, at28, true), { padCrop: 4, flip: true }); // RandomCrop(28, padding=4) + flip
  assert.deepEqual(resolveAugment('cifar', { ...AUGMENT_DEFAULTS }, [3, 32, 32], true), { padCrop: 4, flip: true });
  assert.deepEqual(resolveAugment('auto', {}, [3, 224, 224], false), {
    padCrop: 0,
    flip: true,
    randomResizedCrop: true,
  });
  assert.equal(resolveAugment('none', { ...AUGMENT_DEFAULTS }, at28, true), undefined);
  assert.deepEqual(
    resolveAugment('cifar', { cropPadding: 2, flipProb: 0.25, cropFill: [9], paddingMode: 'reflect' }, at28, true),
    { padCrop: 2, flip: true, flipProb: 0.25, padMode: 'reflect', fill: [9] },
  );
  assert.deepEqual(resolveAugment('cifar', { flipProb: 0 }, at28, true), { padCrop: 4, flip: false });
  assert.deepEqual(resolveAugment('imagenet', { rrcScale: [0.35, 1], rrcRatio: [0.5, 2] }, [3, 64, 64], true), {
    padCrop: 0,
    flip: true,
    randomResizedCrop: true,
    scale: [0.35, 1],
    ratio: [0.5, 2],
  });
  assert.equal(
    describeAugment(resolveAugment('cifar', { cropPadding: 2 }, at28, true), at28),
    "RandomCrop((28, 28), padding=2, fill=0, padding_mode='constant') + RandomHorizontalFlip(p=0.5)",
  );
  assert.equal(
    describeAugment(resolveAugment('imagenet', {}, [3, 224, 224], false), [3, 224, 224]),
    'RandomResizedCrop((224, 224), scale=(0.08, 1), ratio=(0.75, 1.3333)) + RandomHorizontalFlip(p=0.5)',
  );
});

test('a parameter its preset does not use, and impossible values, are refused naming the flag', () => {
  const bad: [() => unknown, RegExp][] = [
    [
      () => resolveAugment('imagenet', { cropPadding: 2 }, at28, true),
      /--crop-padding has no effect with --augment imagenet; it belongs to --augment cifar/,
    ],
    [
      () => resolveAugment('auto', { rrcScale: [0.2, 1] }, at28, true),
      /--rrc-scale has no effect with --augment auto \(cifar at 1x28x28\)/,
    ],
    [() => resolveAugment('none', { flipProb: 1 }, at28, true), /--flip-prob has no effect with --augment none/],
    [
      () => resolveAugment('cifar', { cropPadding: 28, paddingMode: 'reflect' }, at28, true),
      /--crop-padding 28: reflect padding needs the padding below the image side \(28\)/,
    ],
    [() => resolveAugment('cifar', { cropFill: [1, 2, 3] }, at28, true), /--crop-fill: 3 values for a 1-channel input/],
    [() => resolveAugment('cifar', { cropFill: [300] }, at28, true), /--crop-fill: 300: pixel values are 0\.\.255/],
  ];
  for (const [f, msg] of bad) assert.throws(f, (e: unknown) => e instanceof UserError && msg.test(e.message));
});

test("padding modes index as torch's pad: constant, edge, reflect (no edge repeat), symmetric (edge repeated)", () => {
  const row = (mode: 'constant' | 'edge' | 'reflect' | 'symmetric') =>
    [-3, -2, -1, 0, 3, 4, 5, 6].map((i) => padIndex(i, 4, mode));
  assert.deepEqual(row('constant'), [-1, -1, -1, 0, 3, -1, -1, -1]);
  assert.deepEqual(row('edge'), [0, 0, 0, 0, 3, 3, 3, 3]);
  assert.deepEqual(row('reflect'), [3, 2, 1, 0, 3, 2, 1, 0]); // numpy.pad(..., 'reflect') of [0,1,2,3] by 3
  assert.deepEqual(row('symmetric'), [2, 1, 0, 0, 3, 3, 2, 1]);
});

test("the option table's defaults are the data layer's (torchvision's)", () => {
  for (const [k, v] of Object.entries(AUGMENT_DEFAULTS))
    assert.deepEqual(AUGMENT_OPTIONS.find((o) => o.key === k)?.default, v, k);
});

test('config keys and flags: lists parsed, checked with file:line, printed in the resolved config', async () => {
  const cfg = resolveDistillConfig({ cropPadding: 2, rrcScale: '0.5,1' as unknown as number[] });
  assert.deepEqual(
    [cfg.cropPadding, cfg.rrcScale, cfg.flipProb, cfg.cropFill, cfg.paddingMode],
    [2, [0.5, 1], 0.5, [0], 'constant'],
  );
  const yaml = printConfig(cfg);
  for (const line of [
    /^cropPadding: 2$/m,
    /^flipProb: 0\.5$/m,
    /^paddingMode: constant$/m,
    /^rrcScale:\n {2}- 0\.5\n {2}- 1$/m,
    /^rrcRatio:/m,
  ])
    assert.match(yaml, line);
  const file = join(root, 'aug.yaml');
  writeFileSync(file, 'epochs: 1\nrrcRatio: [0.75, 1.33]\ncropFill: 0,128,255\n');
  assert.deepEqual(resolveDistillConfig({ config: file }).cropFill, [0, 128, 255]);
  const cases: [string, RegExp][] = [
    ['epochs: 1\nrrcScale: 0.5\n', /aug\.yaml:2: 'rrcScale': '0\.5' has 1 value\(s\); give 2/],
    ['epochs: 1\n\nrrcScale: [1, 0.5]\n', /aug\.yaml:3: 'rrcScale': '1,0\.5': give lo,hi with lo ≤ hi/],
    ['rrcRatio: 0,1\n', /aug\.yaml:1: 'rrcRatio': '0,1': every value must be positive/],
    ['cropFill: a,b\n', /aug\.yaml:1: 'cropFill': 'a,b' is not a comma-separated list of numbers/],
    ['epochs: 1\nflipProb: 1.5\n', /aug\.yaml:2: 'flipProb' must be <= 1/],
    [
      'paddingMode: wrap\n',
      /aug\.yaml:1: 'paddingMode' must be equal to one of the allowed values \(constant, edge, reflect, symmetric\)/,
    ],
    ['cropPadding: -1\n', /aug\.yaml:1: 'cropPadding' must be >= 0/],
  ];
  for (const [text, msg] of cases) {
    writeFileSync(file, text);
    assert.throws(
      () => resolveDistillConfig({ config: file }),
      (e: unknown) => e instanceof UserError && msg.test(e.message),
      text,
    );
  }
  assert.throws(
    () => resolveDistillConfig({ rrcScale: '0.2,1.5' as unknown as number[] }),
    /--rrc-scale: '0\.2,1\.5': every value must be in \[0, 1\]/,
  );
  assert.throws(() => resolveDistillConfig({ flipProb: 2 }), /--flip-prob: '2' must be ≤ 1/);
  // Through the CLI: a bad flag exits 2 naming it.
  const r = await cli(['distill', '--data', images, '--augment', 'imagenet', '--crop-padding', '2', '--epochs', '1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--crop-padding has no effect with --augment imagenet/);
});

// The (dy, dx) shift and flip that turn a source image into an augmented one, or undefined when none does.
function findShift(
  src: Uint8Array,
  got: Float32Array,
  pad: number,
  stats: { mean: number[]; std: number[] },
): [number, number, boolean] | undefined {
  const out = new Float32Array(784);
  for (const flip of [false, true]) {
    for (let i = 0; i <= 2 * pad; i++) {
      for (let j = 0; j <= 2 * pad; j++) {
        const fixed = {
          int: (
            (q) => () =>
              q.shift()!
          )([i, j]),
          next: () => (flip ? 0 : 0.999),
        };
        writeNormalized(src, 0, out, 0, 1, 28, 28, stats, { padCrop: pad, flip: true }, fixed as never);
        if (out.every((v, k) => v === got[k])) return [i - pad, j - pad, flip];
      }
    }
  }
  return undefined;
}

test('the loader applies --crop-padding and --flip-prob, repeatably for a seed', async () => {
  const ds = await openData(SUBSET, { augment: 'cifar', augmentParams: { cropPadding: 2, flipProb: 0.25 } });
  const src = ds.train.source as MemoryImages;
  const batch = async (): Promise<Batch> =>
    (await ds.train.loader({ batchSize: 64, seed: 3, epoch: 1, shuffle: true, dropLast: true }).next()).value as Batch;
  const a = await batch(),
    b = await batch();
  assert.deepEqual(a.x, b.x);
  const shifts = Array.from(a.indices).map((s, r) =>
    findShift(src.images.subarray(s * 784, (s + 1) * 784), a.x.subarray(r * 784, (r + 1) * 784), 2, ds.stats),
  );
  assert.ok(
    shifts.every((s) => s !== undefined),
    'every image is a crop of its padded source within 2 px',
  );
  // 64 draws of p = 0.25: flips between 6 and 28 (the binomial's 99.99% range), and several distinct offsets.
  const flips = shifts.filter((s) => s![2]).length;
  assert.ok(flips >= 6 && flips <= 28, `flips ${flips} / 64`);
  assert.ok(new Set(shifts.map((s) => `${s![0]},${s![1]}`)).size >= 10);
  const none = await openData(SUBSET, { augment: 'cifar', augmentParams: { cropPadding: 0, flipProb: 0 } });
  const plain = await openData(SUBSET, { augment: 'none' });
  const o = { batchSize: 32, seed: 3, epoch: 0, shuffle: false, dropLast: true };
  assert.deepEqual((await none.train.loader(o).next()).value!.x, (await plain.train.loader(o).next()).value!.x);
});

test('a distill run records the augmentation in run.json and config.yaml; --eval-resize is kept in the student', async () => {
  const out = join(root, 'run');
  const r = await cli([
    'distill',
    '--data',
    images,
    '--teacher',
    join(FIXTURES, 'small_resnet_eval.onnx'),
    '--student',
    'zoo:cnn-tiny',
    '--epochs',
    '1',
    '--batch-size',
    '20',
    '--threads',
    '1',
    '--crop-padding',
    '2',
    '--flip-prob',
    '0.3',
    '--padding-mode',
    'edge',
    '--eval-resize',
    '32',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /augmentation: RandomCrop\(\(28, 28\), padding=2, fill=0, padding_mode='edge'\) \+ RandomHorizontalFlip\(p=0\.3\)/,
  );
  const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: Record<string, unknown> };
  assert.equal(
    rec.config.augmentation,
    "RandomCrop((28, 28), padding=2, fill=0, padding_mode='edge') + RandomHorizontalFlip(p=0.3)",
  );
  assert.deepEqual([rec.config.cropPadding, rec.config.flipProb, rec.config.paddingMode], [2, 0.3, 'edge']);
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^cropPadding: 2$/m);
  const pre = JSON.parse(loadModel(join(out, 'student.onnx')).metadata().get('onnx_distill.preprocess')!) as {
    resize?: number;
    cropFraction: number;
  };
  assert.deepEqual([pre.resize, pre.cropFraction], [32, 28 / 32]);
});

test('--eval-resize decodes validation images as Resize(N) + CenterCrop, small ones included', async () => {
  const ds = await openData(images, { input: at28, evalResize: 32 });
  const plain = await openData(images, { input: at28 });
  const o = { batchSize: 4, seed: 0, epoch: 0, shuffle: false, dropLast: false };
  const got = (await ds.val!.loader(o).next()).value!,
    was = (await plain.val!.loader(o).next()).value!;
  const files = readdirSync(join(images, 'val', ds.classes[0]!)).sort();
  const expected = await decodeImage(join(images, 'val', ds.classes[0]!, files[0]!), 1, 28, 28, {
    kind: 'center',
    fraction: 28 / 32,
    resize: 32,
  });
  const { scale, shift } = affine(ds.stats);
  const idx = got.indices[0]!;
  assert.equal(idx, 0);
  assert.ok(
    Array.from(expected).every((v, k) => Math.abs(v * scale[0]! + shift[0]! - got.x[k]!) < 1e-5),
    'the first validation image is its Resize(32) + CenterCrop(28)',
  );
  assert.notDeepEqual(got.x, was.x);
  assert.equal(ds.preprocess.resize, 32);
  await assert.rejects(
    openData(images, { input: at28, evalResize: 24 }),
    /--eval-resize 24: smaller than the 28x28 centre crop/,
  );
  await assert.rejects(
    openData(images, { input: at28, evalResize: 32, cropFraction: 0.9 }),
    /--eval-resize and --crop-fraction both set the evaluation crop/,
  );
});

test("--augment trivial: the size's preset then TrivialAugmentWide, each image its crop + flip + one drawn op, repeatably", async () => {
  assert.deepEqual(resolveAugment('trivial', {}, at28, true), { padCrop: 4, flip: true, trivial: true });
  assert.deepEqual(resolveAugment('trivial', {}, [3, 224, 224], false), {
    padCrop: 0,
    flip: true,
    randomResizedCrop: true,
    trivial: true,
  });
  assert.match(
    describeAugment(resolveAugment('trivial', { cropPadding: 2 }, at28, true), at28),
    /padding=2.*RandomHorizontalFlip\(p=0\.5\) \+ TrivialAugmentWide\(num_magnitude_bins=31, interpolation=NEAREST, fill=0\)$/,
  );
  const o = { batchSize: 48, seed: 9, epoch: 2, shuffle: true, dropLast: true };
  const ta = await openData(SUBSET, { augment: 'trivial' });
  const plain = await openData(SUBSET, { augment: 'cifar' });
  const got = (await ta.train.loader(o).next()).value as Batch,
    again = (await ta.train.loader(o).next()).value as Batch;
  const base = (await plain.train.loader(o).next()).value as Batch;
  assert.deepEqual(got.x, again.x);
  const { scale, shift } = affine(ta.stats);
  let changed = 0;
  Array.from(got.indices).forEach((s, r) => {
    // The per-sample stream: crop (2 draws) and flip (1) as the cifar batch, then TrivialAugmentWide's draws.
    const rng = new DataRng(mix(o.seed, o.epoch, s, 0xa06));
    rng.int(9);
    rng.int(9);
    rng.next();
    const bytes = Uint8Array.from(base.x.subarray(r * 784, (r + 1) * 784), (v) =>
      Math.round((v - shift[0]!) / scale[0]!),
    );
    const want = trivialAugment({ data: bytes, c: 1, h: 28, w: 28 }, rng).data;
    const row = got.x.subarray(r * 784, (r + 1) * 784);
    assert.ok(
      want.every((v, k) => Math.abs(v * scale[0]! + shift[0]! - row[k]!) < 1e-5),
      `sample ${s}`,
    );
    if (want.some((v, k) => v !== bytes[k])) changed++;
  });
  assert.ok(changed >= 30, `${changed} of 48 images changed by their op`); // Identity, and ops that leave an image as is, are rarer
  // From files (decoded per batch: a random-resized crop, flip, then the op): repeatable too.
  const files = await openData(images, { input: at28, augment: 'trivial', cacheBelow: 8 });
  const fo = { ...o, batchSize: 16 };
  const f1 = (await files.train.loader(fo).next()).value as Batch,
    f2 = (await files.train.loader(fo).next()).value as Batch;
  assert.equal(files.train.source.kind, 'files');
  assert.deepEqual(f1.x, f2.x);
  const rrc = await openData(images, { input: at28, augment: 'imagenet', cacheBelow: 8 });
  const f0 = (await rrc.train.loader(fo).next()).value as Batch;
  const differs = Array.from({ length: 16 }, (_, r) =>
    f0.x.subarray(r * 784, (r + 1) * 784).some((v, k) => Math.abs(v - f1.x[r * 784 + k]!) > 1e-6),
  ).filter(Boolean).length;
  assert.ok(differs >= 8, `${differs} of 16 file images changed by their op`);
});

test("--randaugment N,M: after the preset's crop and flip, checked, and applied per sample from its stream", async () => {
  assert.deepEqual(resolveAugment('cifar', { randaugment: [2, 9] }, at28, true), {
    padCrop: 4,
    flip: true,
    randaugment: [2, 9],
  });
  assert.match(
    describeAugment(resolveAugment('auto', { randaugment: [2, 9] }, at28, true), at28),
    /RandomHorizontalFlip\(p=0\.5\) \+ RandAugment\(num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation=NEAREST, fill=0\)$/,
  );
  for (const [preset, ra, msg] of [
    ['trivial', [2, 9], /give one strong policy/],
    ['none', [2, 9], /--randaugment has no effect with --augment none/],
    ['cifar', [2, 31], /--randaugment 2,31: give N,M/],
    ['cifar', [1.5, 9], /--randaugment 1\.5,9/],
  ] as const) {
    assert.throws(() => resolveAugment(preset, { randaugment: [...ra] }, at28, true), msg);
  }
  assert.throws(
    () => resolveDistillConfig({ randaugment: '2' as unknown as number[] }),
    /--randaugment: '2' has 1 value\(s\); give 2/,
  );
  const o = { batchSize: 32, seed: 1, epoch: 0, shuffle: true, dropLast: true };
  const ra = await openData(SUBSET, { augment: 'cifar', augmentParams: { randaugment: [2, 9] } });
  const base = await openData(SUBSET, { augment: 'cifar' });
  const got = (await ra.train.loader(o).next()).value as Batch,
    plain = (await base.train.loader(o).next()).value as Batch;
  const { scale, shift } = affine(ra.stats);
  Array.from(got.indices).forEach((s, r) => {
    const rng = new DataRng(mix(o.seed, o.epoch, s, 0xa06));
    rng.int(9);
    rng.int(9);
    rng.next();
    const bytes = Uint8Array.from(plain.x.subarray(r * 784, (r + 1) * 784), (v) =>
      Math.round((v - shift[0]!) / scale[0]!),
    );
    const want = randAugment({ data: bytes, c: 1, h: 28, w: 28 }, 2, 9, rng).data;
    assert.ok(
      want.every((v, k) => Math.abs(v * scale[0]! + shift[0]! - got.x[r * 784 + k]!) < 1e-5),
      `sample ${s}`,
    );
  });
});
