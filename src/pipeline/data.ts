import { existsSync } from 'node:fs';
import { openData, type DataOptions, type Preprocess } from '../data/index.js';
import { StageBar } from '../util/progress.js';
import type { CliContext } from '../util/output.js';
import { loadModel } from '../ir/model.js';
import type { TrainSplit } from '../train/types.js';
import { UserError } from '../util/errors.js';
import { zooEntry } from '../zoo/index.js';

// The data side of a run as the trainer needs it, plus the report of skipped files.
export interface TrainingData {
  train: TrainSplit;
  val: TrainSplit | undefined;
  classes: string[];
  input: [number, number, number];
  preprocess: Preprocess;
  report(ctx: CliContext): void;
}

// The data options of a command line, as `openData` takes them.
export type DataFlags = Pick<DataOptions, 'mean' | 'std' | 'computeStats' | 'cropFraction'>;

// The input shape a file model expects ([C,H,W] from its first input), when it is static.
function modelInput(spec: string): [number, number, number] | undefined {
  if (spec.startsWith('zoo:')) {
    zooEntry(spec.slice(4));
    return undefined;
  }
  if (!existsSync(spec)) throw new UserError(`--model: '${spec}' is neither a zoo:<name> nor an existing .onnx file (list the zoo with \`onnx-distill models\`)`);
  const g = loadModel(spec).graph;
  const x = g.inputs.find((v) => !v.constant);
  const s = x?.type?.shape;
  if (!s || s.length !== 4 || s.slice(1).some((d) => typeof d !== 'number')) return undefined;
  return s.slice(1) as [number, number, number];
}

// Open `--data` for a model spec: the input shape comes from --input, the model file, or the data's own size.
export async function loadTrainingData(
  spec: string,
  o: { input?: [number, number, number]; model: string; seed: number; strict: boolean; augment: string; valSplit?: number } & DataFlags,
  ctx: CliContext,
): Promise<TrainingData> {
  const fromModel = modelInput(o.model);
  if (o.input && fromModel && o.input.join('x') !== fromModel.join('x')) {
    throw new UserError(`--input ${o.input.join('x')} disagrees with the model '${o.model}', which takes ${fromModel.join('x')}`);
  }
  const bar = new StageBar(!ctx.json);
  const ds = await openData(spec, {
    onProgress: (stage, done, total) => bar.update(stage, done, total),
    ...((o.input ?? fromModel) ? { input: (o.input ?? fromModel)! } : {}),
    seed: o.seed, strict: o.strict, augment: o.augment as 'auto',
    ...(o.valSplit !== undefined ? { valSplit: o.valSplit } : {}),
    ...(o.mean ? { mean: o.mean } : {}), ...(o.std ? { std: o.std } : {}),
    ...(o.computeStats !== undefined ? { computeStats: o.computeStats } : {}), ...(o.cropFraction !== undefined ? { cropFraction: o.cropFraction } : {}),
  }).finally(() => bar.stop());
  const split = (s: typeof ds.train): TrainSplit => ({
    size: s.size,
    batches: (b) => s.loader({ batchSize: b.batchSize, seed: b.seed, epoch: b.epoch, shuffle: b.shuffle, dropLast: b.dropLast, reuse: true, skip: b.skip ?? 0 }),
    identity: () => s.identity(),
  });
  ctx.log(`data: ${ds.train.size} training and ${ds.val?.size ?? 0} validation images, ${ds.classes.length} classes, input ${ds.input.join('x')}`);
  const fmt = (v: number[]) => v.map((x) => x.toFixed(4)).join(',');
  const from = { given: 'as given', data: 'computed from the training images', default: 'ImageNet defaults; --compute-stats to use your data\'s' }[ds.preprocess.statsFrom];
  ctx.log(`normalisation: mean ${fmt(ds.stats.mean)} std ${fmt(ds.stats.std)} (${from})`);
  return {
    train: split(ds.train),
    val: ds.val ? split(ds.val) : undefined,
    classes: ds.classes,
    input: ds.input,
    preprocess: ds.preprocess,
    report: (c) => {
      const failures = ds.failures();
      if (failures.length) {
        c.log(`skipped ${failures.length} unreadable image(s):`);
        for (const f of failures) c.log(`  ${f.path}: ${f.reason}`);
      }
    },
  };
}
