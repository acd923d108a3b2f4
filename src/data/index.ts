import { accessSync, constants, existsSync, statSync } from 'node:fs';
import pLimit from 'p-limit';
import { UserError } from '../util/errors.js';
import { checkEvalResize, resolveAugment, type AugmentParams } from './augment.js';
import { decodeImage, type CropMode } from './decode.js';
import { DataSplit } from './loader.js';
import { mix, DataRng } from './random.js';
import { openFolder } from './sources/folder.js';
import { isIdxFolder, openIdx } from './sources/idx.js';
import { openList } from './sources/list.js';
import { NAMED, openNamed } from './sources/named.js';
import { computeStats, type Stats } from './transforms.js';
import type { Failure, FileImages, MemoryImages, OpenedSource, SplitSource } from './types.js';

// What `openData` needs from the run: the model's input, seeds and policies.
export interface DataOptions {
  // [C, H, W] the model takes; default: the data's own size (IDX) or 3x32x32.
  input?: [number, number, number];
  // What takes `input`, for messages (e.g. "model.onnx's input 'x'"); default "the model".
  inputLabel?: string;
  valSplit?: number;
  // Take the data as unlabeled even when it has labels (`--unlabeled`; see sources/folder.ts for the automatic rule).
  unlabeled?: boolean;
  seed?: number;
  strict?: boolean;
  augment?: 'auto' | 'none' | 'cifar' | 'imagenet' | 'trivial';
  // The preset's parameters overridden (--crop-padding, --flip-prob, --rrc-scale, ...).
  augmentParams?: AugmentParams;
  // Evaluation of file images as torchvision's Resize(evalResize) + CenterCrop(input) (instead of cropFraction).
  evalResize?: number;
  mean?: number[];
  std?: number[];
  // Images at most this many pixels on a side are decoded once and kept in memory (default 64).
  cacheBelow?: number;
  // Centre crop for evaluation of file-backed images, as a fraction of the resized shorter side
  // (default 0.875 with random-resized-crop training, i.e. 256 -> 224; otherwise 1).
  cropFraction?: number;
  // Normalisation statistics from the training images: always for in-memory data unless mean/std are given;
  // for file-backed data only when asked (a seeded sample of `statsSample` images, default 2,000), else ImageNet's.
  computeStats?: boolean;
  statsSample?: number;
  // Called during long one-off work (decoding a small-image folder into memory), for a progress bar.
  onProgress?: (stage: string, done: number, total: number) => void;
}

type Progress = (done: number, total: number) => void;

// How the model's inputs were made, saved in the exported model so inference can repeat it.
export interface Preprocess {
  input: [number, number, number];
  // Pixels scaled to 0..1, then (x - mean) / std per channel; gray models see ITU-R 601 luma.
  mean: number[];
  std: number[];
  statsFrom: 'given' | 'data' | 'default';
  // Evaluation: resize so the shorter side covers input / fraction, keep the centre (bilinear, antialiased).
  cropFraction: number;
  // Evaluation as Resize(resize) + CenterCrop(input) with torchvision's integer sizes (then cropFraction ≈ input / resize).
  resize?: number;
}

// An opened dataset: splits ready for loaders, class names, the input shape and normalisation used.
export interface Dataset {
  train: DataSplit;
  val: DataSplit | undefined;
  // Empty when unlabeled (every label UNLABELED; the model's classes apply).
  classes: string[];
  labelled: boolean;
  input: [number, number, number];
  stats: Stats;
  preprocess: Preprocess;
  description: string;
  failures(): Failure[];
}

function openSource(spec: string, o: { unlabeled?: boolean } = {}): OpenedSource {
  const opts = o.unlabeled ? { unlabeled: true } : {};
  if (NAMED[spec]) return openNamed(spec, opts);
  if (!existsSync(spec))
    throw new UserError(
      `--data: '${spec}' does not exist; give an image folder, an IDX folder, a .csv/.jsonl list, or one of ${Object.keys(NAMED).join(', ')}`,
    );
  if (statSync(spec).isFile()) {
    if (/\.(csv|jsonl)$/i.test(spec)) return openList(spec, opts);
    throw new UserError(`--data: '${spec}' is a file but not a .csv or .jsonl list`);
  }
  try {
    accessSync(spec, constants.R_OK | constants.X_OK);
  } catch (err: unknown) {
    throw new UserError(
      `--data: cannot read the folder '${spec}' (${String((err as { code?: unknown }).code ?? err)})`,
    );
  }
  return isIdxFolder(spec) ? openIdx(spec, undefined, opts) : openFolder(spec, opts);
}

// Decode a file split into memory once (small images), recording unreadable files; file order is kept.
async function toMemory(
  src: FileImages,
  input: [number, number, number],
  strict: boolean,
  failures: Failure[],
  progress?: Progress,
  crop?: CropMode,
): Promise<MemoryImages> {
  const [c, h, w] = input;
  const per = c * h * w;
  const n = src.samples.length;
  const images = new Uint8Array(n * per);
  const limit = pLimit(16);
  const ok = await Promise.all(
    src.samples.map((s, i) =>
      limit(async () => {
        if (progress && (i & 255) === 0) progress(i, n);
        try {
          images.set(await decodeImage(s.path, c, h, w, crop), i * per);
          return true;
        } catch (err: unknown) {
          const reason = err instanceof Error ? err.message : String(err);
          if (strict) {
            limit.clearQueue();
            throw new UserError(
              `${s.path}: cannot decode image (${reason}); run without --strict to skip unreadable files`,
            );
          }
          failures.push({ path: s.path, reason });
          return false;
        }
      }),
    ),
  );
  progress?.(n, n);
  // Compact: drop the failed slots, keeping file order.
  const labels: number[] = [];
  ok.forEach((good, i) => {
    if (!good) return;
    if (labels.length !== i) images.copyWithin(labels.length * per, i * per, (i + 1) * per);
    labels.push(src.samples[i]!.label);
  });
  failures.sort((a, b) => a.path.localeCompare(b.path));
  return {
    kind: 'memory',
    images: images.subarray(0, labels.length * per),
    labels: Int32Array.from(labels),
    shape: input,
  };
}

// --mean/--std as given: one value per channel (or one for all), std positive.
function givenStats(o: DataOptions, channels: number): Stats | undefined {
  if (!o.mean && !o.std) return undefined;
  if (!o.mean || !o.std)
    throw new UserError(`--mean and --std go together; give both (values on the 0..1 pixel scale, one per channel)`);
  const fit = (v: number[], name: string) => {
    if (v.length === 1) return new Array<number>(channels).fill(v[0]!);
    if (v.length !== channels)
      throw new UserError(
        `${name}: ${v.length} values for a ${channels}-channel input; give ${channels} (or one for all)`,
      );
    return v;
  };
  const mean = fit(o.mean, '--mean');
  const std = fit(o.std, '--std');
  if (std.some((v) => !(v > 0))) throw new UserError(`--std: every value must be positive (got ${o.std.join(',')})`);
  return { mean, std };
}

// Statistics of a seeded sample of file-backed training images, decoded as the in-memory cache would hold them
// (unreadable ones left out: the loader reports them). Summed in sample order, so bit-identical from run to run.
async function sampleStats(src: FileImages, input: [number, number, number], n: number, seed: number): Promise<Stats> {
  const pick = new DataRng(mix(seed, 0x57a7))
    .permutation(src.samples.length)
    .subarray(0, Math.min(n, src.samples.length));
  const sample = await toMemory({ kind: 'files', samples: Array.from(pick, (i) => src.samples[i]!) }, input, false, []);
  if (sample.labels.length === 0)
    throw new UserError(`--compute-stats: none of the ${pick.length} sampled training images could be decoded`);
  return computeStats(sample.images, sample.labels.length, input[0], input[1] * input[2]);
}

// Hold out a seeded, stratified fraction of a split for validation.
function holdOut<T extends SplitSource>(src: T, fraction: number, seed: number): [T, T] {
  if (!(fraction > 0 && fraction < 1)) throw new UserError(`--val-split: ${fraction} must be between 0 and 1`);
  const labels = src.kind === 'memory' ? Array.from(src.labels) : src.samples.map((s) => s.label);
  const rng = new DataRng(mix(seed, 0x7a1));
  const perm = rng.permutation(labels.length);
  const seen = new Map<number, number>();
  const total = new Map<number, number>();
  for (const l of labels) total.set(l, (total.get(l) ?? 0) + 1);
  const isVal = new Uint8Array(labels.length);
  for (const i of perm) {
    const l = labels[i]!;
    const k = seen.get(l) ?? 0;
    if (k < Math.round(total.get(l)! * fraction)) {
      isVal[i] = 1;
      seen.set(l, k + 1);
    }
  }
  const pick = (v: number) => {
    const ids = labels.map((_, i) => i).filter((i) => isVal[i] === v);
    if (src.kind === 'files') return { kind: 'files', samples: ids.map((i) => src.samples[i]!) } as T;
    const per = src.shape.reduce((a, b) => a * b, 1);
    const images = new Uint8Array(ids.length * per);
    ids.forEach((i, r) => images.set(src.images.subarray(i * per, (i + 1) * per), r * per));
    return { kind: 'memory', images, labels: Int32Array.from(ids, (i) => src.labels[i]!), shape: src.shape } as T;
  };
  return [pick(0), pick(1)];
}

// The fraction of unlabeled data without a validation part of its own held out to measure fidelity to the teacher.
export const UNLABELED_VAL_SPLIT = 0.1;

// Open `--data` for a model input: sources, validation split, in-memory cache of small images, normalisation, augmentation.
export async function openData(spec: string, o: DataOptions = {}): Promise<Dataset> {
  const src = openSource(spec, o);
  const input = o.input ?? src.nativeShape ?? [3, 32, 32];
  const failures: Failure[] = [];
  let train = src.train;
  let val = src.val;
  if (
    train.kind === 'memory' &&
    (train.shape[0] !== input[0] || train.shape[1] !== input[1] || train.shape[2] !== input[2])
  ) {
    throw new UserError(
      `--data: ${src.description} holds ${train.shape.join('x')} images but ${o.inputLabel ?? 'the model'} takes ${input.join('x')}; use a model built for ${train.shape.join('x')} (e.g. --input ${train.shape.join('x')} for zoo models)`,
    );
  }
  const small = Math.max(input[1], input[2]) <= (o.cacheBelow ?? 64);
  if (small && train.kind === 'files')
    train = await toMemory(
      train,
      input,
      !!o.strict,
      failures,
      o.onProgress && ((d, t) => o.onProgress!('decoding training images', d, t)),
    );
  // --eval-resize applies to small validation images too (decoded once, as Resize + CenterCrop); --crop-fraction
  // keeps its historical meaning there (the whole shorter side).
  if (o.evalResize !== undefined && o.cropFraction !== undefined)
    throw new UserError(`--eval-resize and --crop-fraction both set the evaluation crop; give one`);
  if (o.evalResize !== undefined) checkEvalResize(o.evalResize, input);
  const evalCrop: CropMode | undefined = o.evalResize
    ? { kind: 'center', fraction: Math.min(input[1], input[2]) / o.evalResize, resize: o.evalResize }
    : undefined;
  if (small && val?.kind === 'files')
    val = await toMemory(
      val,
      input,
      !!o.strict,
      failures,
      o.onProgress && ((d, t) => o.onProgress!('decoding validation images', d, t)),
      evalCrop,
    );
  const split = o.valSplit ?? (src.unlabeled ? UNLABELED_VAL_SPLIT : undefined);
  if (!val && split) [train, val] = holdOut(train, split, o.seed ?? 0);
  const present = new Set(train.kind === 'memory' ? train.labels : train.samples.map((s) => s.label));
  const missing = src.classes.filter((_, i) => !present.has(i));
  if (missing.length)
    throw new UserError(`--data: class '${missing[0]}' has no readable training images in ${src.description}`);
  const given = givenStats(o, input[0]);
  const measure = o.computeStats ?? train.kind === 'memory';
  const statsFrom = given ? 'given' : measure ? 'data' : 'default';
  const stats: Stats =
    given ??
    (!measure
      ? input[0] === 3
        ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }
        : { mean: new Array<number>(input[0]).fill(0.5), std: new Array<number>(input[0]).fill(0.5) }
      : train.kind === 'memory'
        ? computeStats(train.images, train.labels.length, input[0], input[1] * input[2])
        : await sampleStats(train, input, o.statsSample ?? 2000, o.seed ?? 0));
  const augment = resolveAugment(o.augment ?? 'auto', o.augmentParams ?? {}, input, small);
  const strict = !!o.strict;
  // Evaluation of large images as the ImageNet recipe (resize to 256, centre 224) when training used random crops.
  const fraction = o.evalResize
    ? Math.min(input[1], input[2]) / o.evalResize
    : (o.cropFraction ?? (augment?.randomResizedCrop ? 0.875 : 1));
  if (!(fraction > 0 && fraction <= 1)) throw new UserError(`--crop-fraction: ${fraction} must be in (0, 1]`);
  const center: CropMode = { kind: 'center', fraction, ...(o.evalResize ? { resize: o.evalResize } : {}) };
  const trainSplit = new DataSplit(train, { input, stats, strict, center, ...(augment ? { augment } : {}) });
  const valSplit = val ? new DataSplit(val, { input, stats, strict, center }) : undefined;
  return {
    train: trainSplit,
    val: valSplit,
    classes: src.classes,
    labelled: !src.unlabeled,
    input,
    stats,
    description: src.description,
    preprocess: {
      input,
      mean: stats.mean,
      std: stats.std,
      statsFrom,
      cropFraction: fraction,
      ...(o.evalResize ? { resize: o.evalResize } : {}),
    },
    failures: () => [...failures, ...trainSplit.failures, ...(valSplit?.failures ?? [])],
  };
}
export { DataSplit } from './loader.js';
export type { Batch, LoaderOptions } from './loader.js';

// A labelled dataset opened for validation only (`--val-data`) with the training data's input and normalisation: its
// validation split when it has one (val/, t10k files), else all its images; labels mapped onto the model's `classes`
// by name, or by index when either side's names are the indices themselves.
export async function openValData(
  spec: string,
  like: Pick<Dataset, 'input' | 'stats' | 'preprocess'>,
  classes: string[],
  o: Pick<DataOptions, 'strict' | 'cacheBelow' | 'onProgress'> = {},
): Promise<{ val: DataSplit; description: string; failures(): Failure[] }> {
  const src = openSource(spec);
  if (src.unlabeled)
    throw new UserError(
      `--val-data: ${src.description} has no labels; validation data must be labelled (root/<class>/<image>, a list with a label column, or IDX files with labels)`,
    );
  const toModel = classMap(src.classes, classes);
  let part = src.val ?? src.train;
  const failures: Failure[] = [];
  if (part.kind === 'memory' && part.shape.join('x') !== like.input.join('x')) {
    throw new UserError(
      `--val-data: ${src.description} holds ${part.shape.join('x')} images but the model takes ${like.input.join('x')}`,
    );
  }
  if (part.kind === 'files' && Math.max(like.input[1], like.input[2]) <= (o.cacheBelow ?? 64))
    part = await toMemory(
      part,
      like.input,
      !!o.strict,
      failures,
      o.onProgress && ((d, t) => o.onProgress!('decoding --val-data images', d, t)),
    );
  part =
    part.kind === 'memory'
      ? { ...part, labels: part.labels.map((l) => toModel[l]!) }
      : { kind: 'files', samples: part.samples.map((s) => ({ ...s, label: toModel[s.label]! })) };
  const val = new DataSplit(part, {
    input: like.input,
    stats: like.stats,
    strict: !!o.strict,
    center: { kind: 'center', fraction: like.preprocess.cropFraction },
  });
  return { val, description: src.description, failures: () => [...failures, ...val.failures] };
}

// Label index of the validation data -> the model's class index. Names match exactly, or as folder names spell them
// (case and every run of other characters than letters and digits aside: 'T-shirt/top' is folder 'T-shirt_top').
function classMap(given: string[], model: string[]): number[] {
  const key = (c: string) => c.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '_');
  const at = new Map([...model.map((c, i) => [key(c), i] as const), ...model.map((c, i) => [c, i] as const)]);
  const find = (c: string) => at.get(c) ?? at.get(key(c));
  if (given.every((c) => find(c) !== undefined)) return given.map((c) => find(c)!);
  const indices = (names: string[]) => names.every((c, i) => c === String(i));
  if ((indices(given) || indices(model)) && given.length <= model.length) return given.map((_, i) => i);
  const stray = given.find((c) => find(c) === undefined)!;
  throw new UserError(
    `--val-data: class '${stray}' is not one of the model's ${model.length} classes (${model.slice(0, 10).join(', ')}${model.length > 10 ? ', ...' : ''})`,
    'name the validation classes as the teacher does (its onnx_distill.classes metadata), or by index 0..K-1',
  );
}
