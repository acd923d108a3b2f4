import { openData, type DataSplit, type Preprocess } from './index.js';
import { parseModel, serializeModel, type Model } from '../ir/model.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { classifierIO } from '../ir/classifier.js';
import type { CliContext } from '../util/output.js';
import { StageBar } from '../util/progress.js';
import { messageOf, UserError } from '../util/errors.js';
import { META_CLASSES, META_PREPROCESS } from '../ir/metadata.js';

// What export and eval need to know about a classifier: its image input, class count and names, preprocessing.
export interface ClassifierInfo {
  inputName: string;
  inputType: string;
  // [C, H, W] the model takes.
  input: [number, number, number];
  // The batch size the input declares, when it is fixed (a dynamic batch dim leaves it undefined).
  batch?: number;
  outputName: string;
  classes: number;
  // Class names from the model's metadata (`onnx_distill.classes`), when it has them.
  classNames: string[] | undefined;
  // From `onnx_distill.preprocess`, when the model records it.
  preprocess: Preprocess | undefined;
}

// Preprocessing options given on the command line, for models that do not record theirs.
export interface PreprocessFlags {
  input?: [number, number, number];
  mean?: number[];
  std?: number[];
}

// How a training run split a dataset that has no validation split of its own, so that calibration and evaluation
// see the same training and held-out images the run did (compress passes its --val-split and --seed).
export interface SplitFlags {
  valSplit?: number;
  seed?: number;
  // The run read the data as unlabeled (--unlabeled).
  unlabeled?: boolean;
}

function metaJson<T>(model: Model, key: string, file: string): T | undefined {
  const text = model.metadata().get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err: unknown) {
    throw new UserError(`${file}: metadata '${key}' is not valid JSON (${messageOf(err)})`);
  }
}

// Check that a model is an image classifier (one NCHW image input, an [N, classes] output) and read its metadata.
// Shape inference runs on a copy, so the model's declared (dynamic) shapes stay as they are.
export function describeClassifier(model: Model, file: string, flags: PreprocessFlags = {}): ClassifierInfo {
  const g = parseModel(serializeModel(model).onnx, file).graph;
  const io = classifierIO(g, file);
  const x = io.input;
  const pre = metaJson<Preprocess>(model, META_PREPROCESS, file);
  const declared = io.shape;
  if (declared && !io.layout)
    throw new UserError(`${file}: input '${x.name}' has rank ${declared.length}; expected an image batch NxCxHxW`);
  const fromFile = io.image;
  const input = pre?.input ?? flags.input ?? fromFile;
  if (!input)
    throw new UserError(
      `${file}: input '${x.name}' has no static image size and the model records no preprocessing`,
      'give the size with --input CxHxW',
    );
  if (fromFile && fromFile.join('x') !== input.join('x'))
    throw new UserError(
      `--input ${input.join('x')} disagrees with ${file}, whose input '${x.name}' is ${fromFile.join('x')}`,
    );
  const batch = io.batch;
  if (batch !== undefined && batch < 1)
    throw new UserError(
      `${file}: input '${x.name}' declares batch size ${batch}; give it a dynamic or positive batch dim`,
    );
  // At batch 2 unless fixed: a graph that mixes the batch into other axes (a Flatten from axis 0) only runs at batch 1.
  const n = batch ?? 2;
  const declaredOut = io.outputShape && [...io.outputShape];
  try {
    inferShapes(g, { inputShapes: { [x.name]: [n, ...input] } });
  } catch (err: unknown) {
    throw new UserError(`${file}: the model cannot run at input ${n}x${input.join('x')} (${messageOf(err)})`);
  }
  // Read again after inference: the output's shape as computed at this input.
  const y = classifierIO(g, file).output;
  const s = y?.type?.shape;
  const dtype = y?.type?.dtype;
  if (
    !y ||
    !s ||
    s.length !== 2 ||
    typeof s[1] !== 'number' ||
    s[1] < 2 ||
    (dtype !== 'float32' && dtype !== 'float16')
  ) {
    throw new UserError(
      `${file}: output '${y?.name ?? '(none)'}' is ${dtype ?? '?'}[${(s ?? []).join('x')}], not classifier logits [batch, classes]`,
      'export and eval take image classifiers whose first output is [N, K] float scores',
    );
  }
  if (typeof s[0] === 'number' && s[0] !== n)
    throw new UserError(
      `${file}: output '${y.name}' has ${s[0]} rows for a batch of ${n} images; classifier logits are one row per image`,
    );
  // onnxruntime refuses a declared output dim that disagrees with the one it infers (onnxruntime-web at load); the
  // batch dim only counts when the input's is fixed (a declared [1, K] with a dynamic input batch still runs).
  const clash = (declaredOut ?? []).findIndex(
    (d, i) => typeof d === 'number' && typeof s[i] === 'number' && d !== s[i] && (i > 0 || batch !== undefined),
  );
  if (declaredOut && (declaredOut.length !== 2 || clash >= 0)) {
    throw new UserError(
      `${file}: output '${y.name}' is declared [${declaredOut.join('x')}] but the model computes [${s.join('x')}] at input ${n}x${input.join('x')}`,
    );
  }
  const classNames = metaJson<string[]>(model, META_CLASSES, file);
  if (classNames && classNames.length !== s[1])
    throw new UserError(`${file}: metadata lists ${classNames.length} classes but the output has ${s[1]}`);
  return {
    inputName: io.inputName,
    inputType: io.dtype,
    input,
    ...(batch !== undefined ? { batch } : {}),
    outputName: y.name,
    classes: s[1],
    classNames,
    preprocess: pre,
  };
}

// Labelled images for a classifier: calibration images from the training split, evaluation images from the
// validation split (or the whole set when it has no split), preprocessed as the model was trained.
export interface ModelData {
  train: DataSplit;
  val: DataSplit;
  classes: string[];
  // False for unlabeled images: accuracy cannot be measured on them, agreement with a reference model can.
  labelled: boolean;
  preprocess: Preprocess;
  description: string;
}

// Open `--data` for a classifier, with its recorded preprocessing (or the flags'), no augmentation.
export async function openModelData(
  spec: string,
  info: ClassifierInfo,
  flags: PreprocessFlags,
  ctx: CliContext,
  option = '--data',
  split: SplitFlags = {},
): Promise<ModelData> {
  const mean = info.preprocess?.mean ?? flags.mean;
  const std = info.preprocess?.std ?? flags.std;
  const bar = new StageBar(!ctx.json);
  let ds;
  try {
    ds = await openData(spec, {
      input: info.input,
      inputLabel: `the model's input '${info.inputName}'`,
      augment: 'none',
      seed: split.seed ?? 0,
      ...(split.valSplit !== undefined ? { valSplit: split.valSplit } : {}),
      ...(split.unlabeled ? { unlabeled: true } : {}),
      ...(mean && std ? { mean, std } : {}),
      ...(info.preprocess
        ? info.preprocess.resize
          ? { evalResize: info.preprocess.resize }
          : { cropFraction: info.preprocess.cropFraction }
        : {}),
      onProgress: (stage, done, total) => bar.update(stage, done, total),
    });
  } catch (err: unknown) {
    if (err instanceof UserError && option !== '--data')
      throw new UserError(err.message.replace(/^--data/, option), err.hint);
    throw err;
  } finally {
    bar.stop();
  }
  if (ds.labelled && ds.classes.length !== info.classes) {
    throw new UserError(
      `${option}: ${ds.description} has ${ds.classes.length} classes but the model outputs ${info.classes}`,
    );
  }
  if (!info.preprocess && !(flags.mean && flags.std)) {
    ctx.log(
      `normalisation: the model records none; using mean ${ds.stats.mean.map((v) => v.toFixed(4)).join(',')} std ${ds.stats.std.map((v) => v.toFixed(4)).join(',')} (${ds.preprocess.statsFrom === 'data' ? 'measured on the data' : 'defaults'}); give --mean/--std if it was trained otherwise`,
    );
  }
  const classes =
    info.classNames ?? (ds.labelled ? ds.classes : Array.from({ length: info.classes }, (_, i) => String(i)));
  return {
    train: ds.train,
    val: ds.val ?? ds.train,
    classes,
    labelled: ds.labelled,
    preprocess: ds.preprocess,
    description: ds.description,
  };
}

// The first `limit` images of a split in a fixed order (seeded shuffle when asked), as whole float32 batches.
export async function* batchesOf(
  split: DataSplit,
  batchSize: number,
  limit = Infinity,
  shuffle = false,
): AsyncGenerator<{ x: Float32Array; y: Int32Array; n: number; dims: number[] }> {
  let seen = 0;
  for await (const b of split.loader({ batchSize, seed: 0, epoch: 0, shuffle, dropLast: false })) {
    const n = Math.min(b.n, limit - seen);
    if (n <= 0) return;
    const per = b.shape[1] * b.shape[2] * b.shape[3];
    yield { x: b.x.slice(0, n * per), y: b.y.slice(0, n), n, dims: [n, b.shape[1], b.shape[2], b.shape[3]] };
    seen += n;
    if (seen >= limit) return;
  }
}
