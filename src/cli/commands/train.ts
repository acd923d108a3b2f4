import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { COMMON_OPTIONS, TRAIN_OPTIONS } from '../../config/options.js';
import { declareOptions, resolveConfig } from '../../config/resolve.js';
import { augmentParamsOf } from '../../data/augment.js';
import { loadTrainingData } from '../../pipeline/data.js';
import { EMBEDDED_DATA } from '../../pipeline/assets.js';
import { resolveStudentModel } from '../../pipeline/models.js';
import type { DistillOptions } from '../../pipeline/options.js';
import { defaultLrUpdate, parseSchedule } from '../../train/schedule.js';
import { train } from '../../train/trainer.js';
import { lockOutFolder } from '../../util/lock.js';
import type { CliContext, CommandDef } from '../command.js';
import { interruptedError } from '../exit.js';
import { parseDims, parseNumbers } from '../options.js';

const OPTIONS = [...TRAIN_OPTIONS, ...COMMON_OPTIONS];

// `onnx-distill train`: supervised training of one network (zoo model or ONNX file) with the compiled training step;
// its flags are the common run options that distill shares (one table, src/config/options.ts).
export const command: CommandDef = {
  command: 'train',
  describe: 'train one network (a zoo model or your ONNX file) on a dataset, and export it as ONNX',
  builder: (y: Argv) => declareOptions(y, OPTIONS),
  examples: [
    ['$0 train', 'train ResNet-8 on the embedded 12k-image Fashion-MNIST subset (the demo)'],
    [
      '$0 train --model zoo:resnet8 --data fashion-mnist --epochs 10',
      'train a CIFAR-style ResNet-8 on the full Fashion-MNIST (Debian package)',
    ],
    [
      '$0 train --model my.onnx --data photos/ --val-split 0.1 --out runs/mine',
      'fine-tune your own ONNX model on an image folder',
    ],
    ['$0 train --resume runs/mine --model my.onnx --data photos/ --val-split 0.1', 'continue an interrupted run'],
  ],
  run: async (a, ctx) => {
    const c = resolveConfig(OPTIONS, a) as unknown as DistillOptions & { model: string };
    const outDir = resolve(c.resume ?? c.out!);
    const unlock = lockOutFolder(outDir, 'train', c.resume !== undefined ? '--resume' : '--out');
    try {
      await trainIn(c, outDir, ctx);
    } finally {
      unlock();
    }
  },
};

// The train run with its --out folder locked.
async function trainIn(c: DistillOptions & { model: string }, outDir: string, ctx: CliContext): Promise<void> {
  const epochs = c.epochs!,
    batchSize = c.batchSize!,
    lr = c.lr!;
  const input = c.input ? (parseDims(c.input, '--input', [3]) as [number, number, number]) : undefined;
  const data = await loadTrainingData(
    c.data ?? EMBEDDED_DATA,
    {
      ...(input ? { input } : {}),
      model: c.model,
      seed: c.seed!,
      strict: c.strict!,
      augment: c.augment!,
      ...(c.valSplit !== undefined ? { valSplit: c.valSplit } : {}),
      ...(c.mean !== undefined ? { mean: parseNumbers(c.mean, '--mean') } : {}),
      ...(c.std !== undefined ? { std: parseNumbers(c.std, '--std') } : {}),
      ...(c.computeStats !== undefined ? { computeStats: c.computeStats } : {}),
      ...(c.cropFraction !== undefined ? { cropFraction: c.cropFraction } : {}),
      augmentParams: augmentParamsOf(c),
      ...(c.evalResize !== undefined ? { evalResize: c.evalResize } : {}),
      mix: { mixup: c.mixup ?? 0, cutmix: c.cutmix ?? 0 },
      ...(c.unlabeled ? { unlabeled: true } : {}),
      ...(c.valData ? { valData: c.valData } : {}),
    },
    ctx,
  );
  const model = resolveStudentModel(c.model, { input: data.input, classes: data.classes.length, seed: c.seed! });
  const lrUpdate = c.lrUpdate ?? defaultLrUpdate(c.schedule!);
  const config = {
    command: 'train',
    model: c.model,
    data: c.data,
    epochs,
    batchSize,
    lr,
    optimizer: c.optimizer,
    schedule: c.schedule,
    lrUpdate,
    bnRecalibrate: c.bnRecalibrate,
    seed: c.seed,
    input: data.input,
    augmentation: data.augmentation,
  };
  const record = await train({
    model,
    train: data.train,
    val: data.valData ?? data.val,
    classes: data.classes,
    preprocess: data.preprocess,
    epochs,
    batchSize,
    outDir,
    config,
    schedule: parseSchedule(c.schedule!, lr, epochs, c.warmup ?? 0, lrUpdate),
    optimizer: c.optimizer!,
    hyper: {
      weightDecay: c.weightDecay!,
      momentum: c.momentum!,
      nesterov: c.nesterov!,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    },
    ...(c.noDecayBnBias ? { noDecay: 'norm-and-bias' as const } : {}),
    terms: [{ term: 'ce', options: { smoothing: c.labelSmoothing ?? 0 } }],
    device: c.device!,
    ...(c.threads ? { threads: c.threads } : {}),
    seed: c.seed!,
    resume: c.resume !== undefined,
    log: ctx.log,
    progress: !ctx.json,
    ...(c.bnRecalibrate ? { bnRecalibrate: c.bnRecalibrate } : {}),
  });
  data.report(ctx);
  if (ctx.json) ctx.print(JSON.stringify(record, null, 2));
  else {
    const last = record.history[record.history.length - 1];
    ctx.print(
      record.interrupted
        ? `interrupted; resume with --resume ${outDir}`
        : `done: ${record.outputs.model}` +
            (record.bestValAcc !== undefined
              ? ` (val acc last ${(record.lastValAcc! * 100).toFixed(2)}%, best ${(record.bestValAcc * 100).toFixed(2)}% at epoch ${record.bestEpoch})`
              : '') +
            (last ? `, ${last.imagesPerSecond.toFixed(0)} img/s` : ''),
    );
  }
  if (record.interrupted) throw interruptedError();
}
