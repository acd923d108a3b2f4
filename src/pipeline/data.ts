import { existsSync } from 'node:fs';
import { describeAugment } from '../data/augment.js';
import { describeMix, mixBatches, mixing, type MixParams } from '../data/mix.js';
import { openData, openValData, type DataOptions, type Preprocess } from '../data/index.js';
import { StageBar } from '../util/progress.js';
import type { CliContext } from '../util/output.js';
import { loadModel } from '../ir/model.js';
import { classifierIO } from '../ir/classifier.js';
import type { TrainSplit } from '../train/types.js';
import { UserError } from '../util/errors.js';
import { zooEntry } from '../zoo/index.js';

// The data side of a run as the trainer needs it, plus the report of skipped files.
export interface TrainingData {
  train: TrainSplit;
  // The data's own validation part (held out when it has none): labelled, or unlabeled like `train`.
  val: TrainSplit | undefined;
  // False for unlabeled images (then `classes` are the model's, and `val` measures fidelity to the teacher).
  labelled: boolean;
  // `--val-data`: a separate labelled set, with labels mapped onto `classes`.
  valData?: TrainSplit;
  classes: string[];
  input: [number, number, number];
  preprocess: Preprocess;
  // The training augmentation as the torchvision pipeline it equals ('none' without one), recorded in run.json.
  augmentation: string;
  report(ctx: CliContext): void;
}

// The data options of a command line, as `openData` takes them.
export type DataFlags = Pick<
  DataOptions,
  'mean' | 'std' | 'computeStats' | 'cropFraction' | 'augmentParams' | 'evalResize'
>;

// Unlabeled data and a separate validation set: `--unlabeled` forces unlabeled reading, `--val-data` is a labelled
// set; `classes` (with where they came from) name the model's classes, which unlabeled data takes as its own.
export interface UnlabeledFlags {
  unlabeled?: boolean;
  valData?: string;
  classes?: string[];
  classesFrom?: string;
  // Called when the data turns out unlabeled, before anything else is done with it: a run that cannot learn without
  // labels says why.
  checkUnlabeled?: () => void;
}

function unlabeledClasses(o: UnlabeledFlags, description: string): string[] {
  if (!o.classes)
    throw new UserError(
      `${description} has no labels, and no teacher file says which classes there are`,
      'to learn from images alone, distil from a trained teacher: onnx-distill distill --teacher model.onnx --data <images> (its outputs, or its onnx_distill.classes metadata, give the classes)',
    );
  return o.classes;
}

// The input shape a file model expects ([C,H,W] from its first input), when it is static.
function modelInput(spec: string): [number, number, number] | undefined {
  if (spec.startsWith('zoo:')) {
    zooEntry(spec.slice(4));
    return undefined;
  }
  if (!existsSync(spec))
    throw new UserError(
      `--model: '${spec}' is neither a zoo:<name> nor an existing .onnx file (list the zoo with \`onnx-distill models\`)`,
    );
  return classifierIO(loadModel(spec).graph, spec).image;
}

// Open `--data` for a model spec: the input shape comes from --input, the model file, or the data's own size.
export async function loadTrainingData(
  spec: string,
  o: {
    input?: [number, number, number];
    model: string;
    seed: number;
    strict: boolean;
    augment: string;
    valSplit?: number;
    mix?: MixParams;
  } & DataFlags &
    UnlabeledFlags,
  ctx: CliContext,
): Promise<TrainingData> {
  const fromModel = modelInput(o.model);
  if (o.input && fromModel && o.input.join('x') !== fromModel.join('x')) {
    throw new UserError(
      `--input ${o.input.join('x')} disagrees with the model '${o.model}', which takes ${fromModel.join('x')}`,
    );
  }
  const bar = new StageBar(!ctx.json);
  const ds = await openData(spec, {
    onProgress: (stage, done, total) => bar.update(stage, done, total),
    ...((o.input ?? fromModel) ? { input: (o.input ?? fromModel)! } : {}),
    seed: o.seed,
    strict: o.strict,
    augment: o.augment as 'auto',
    ...(o.unlabeled ? { unlabeled: true } : {}),
    ...(o.valSplit !== undefined ? { valSplit: o.valSplit } : {}),
    ...(o.mean ? { mean: o.mean } : {}),
    ...(o.std ? { std: o.std } : {}),
    ...(o.computeStats !== undefined ? { computeStats: o.computeStats } : {}),
    ...(o.cropFraction !== undefined ? { cropFraction: o.cropFraction } : {}),
    ...(o.augmentParams ? { augmentParams: o.augmentParams } : {}),
    ...(o.evalResize !== undefined ? { evalResize: o.evalResize } : {}),
  }).finally(() => bar.stop());
  const split = (s: typeof ds.train, mixed = false): TrainSplit => ({
    size: s.size,
    batches: (b) => {
      const batches = s.loader({
        batchSize: b.batchSize,
        seed: b.seed,
        epoch: b.epoch,
        shuffle: b.shuffle,
        dropLast: b.dropLast,
        reuse: true,
        skip: b.skip ?? 0,
      });
      return mixed ? mixBatches(batches, o.mix!, ds.input, b.seed, b.epoch, b.skip ?? 0) : batches;
    },
    // Mixed images depend on their batch, not on (seed, epoch, sample) alone: no identity, so no teacher cache.
    ...(mixed ? {} : { identity: () => s.identity() }),
    ...(ds.labelled ? { labelOf: (i: number) => s.label(i) } : {}),
  });
  if (!ds.labelled) o.checkUnlabeled?.();
  const classes = ds.labelled ? ds.classes : unlabeledClasses(o, ds.description);
  const extra = o.valData
    ? await openValData(o.valData, ds, classes, {
        strict: o.strict,
        onProgress: (stage, done, total) => bar.update(stage, done, total),
      }).finally(() => bar.stop())
    : undefined;
  ctx.log(
    ds.labelled
      ? `data: ${ds.train.size} training and ${ds.val?.size ?? 0} validation images, ${classes.length} classes, input ${ds.input.join('x')}`
      : `data: ${ds.description}: ${ds.train.size} training images and ${ds.val?.size ?? 0} held out to measure agreement with the teacher; ${classes.length} classes (${o.classesFrom}), input ${ds.input.join('x')}`,
  );
  if (extra) ctx.log(`validation data (--val-data): ${extra.val.size} labelled images from ${extra.description}`);
  const fmt = (v: number[]) => v.map((x) => x.toFixed(4)).join(',');
  const from = {
    given: 'as given',
    data: 'computed from the training images',
    default: "ImageNet defaults; --compute-stats to use your data's",
  }[ds.preprocess.statsFrom];
  const augmentation = describeAugment(ds.train.cfg.augment, ds.input) + describeMix(o.mix ?? {});
  ctx.log(`augmentation: ${augmentation}`);
  ctx.log(`normalisation: mean ${fmt(ds.stats.mean)} std ${fmt(ds.stats.std)} (${from})`);
  return {
    train: split(ds.train, mixing(o.mix ?? {})),
    val: ds.val ? split(ds.val) : undefined,
    labelled: ds.labelled,
    ...(extra ? { valData: split(extra.val) } : {}),
    classes,
    input: ds.input,
    preprocess: ds.preprocess,
    augmentation,
    report: (c) => {
      const failures = [...ds.failures(), ...(extra?.failures() ?? [])];
      if (failures.length) {
        c.log(`skipped ${failures.length} unreadable image(s):`);
        for (const f of failures) c.log(`  ${f.path}: ${f.reason}`);
      }
    },
  };
}
