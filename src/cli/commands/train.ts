import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { loadTrainingData } from '../../pipeline/data.js';
import { resolveStudentModel } from '../../pipeline/models.js';
import { parseSchedule } from '../../train/schedule.js';
import { train } from '../../train/trainer.js';
import type { CommandDef } from '../command.js';
import { parseDims, parseNumbers, positive } from '../options.js';

// The dataset shipped in the package (models/fashion-mnist-subset): the default, so a bare `train` runs anywhere.
export const EMBEDDED_DATA = fileURLToPath(new URL('../../../models/fashion-mnist-subset', import.meta.url));

// `onnx-distill train`: supervised training of one network (zoo model or ONNX file) with the compiled training step.
export const command: CommandDef = {
  command: 'train',
  describe: 'train one network (a zoo model or your ONNX file) on a dataset, and export it as ONNX',
  builder: (y: Argv) => y
    .option('model', { type: 'string', default: 'zoo:resnet8', describe: 'zoo:<name> (see `onnx-distill models`) or a path to an .onnx classifier' })
    .option('data', { type: 'string', default: EMBEDDED_DATA, defaultDescription: 'the embedded Fashion-MNIST subset', describe: 'dataset: an image folder root/<class>/*, IDX folder, CSV/JSONL list, or fashion-mnist | mnist' })
    .option('input', { type: 'string', describe: 'input CxHxW for zoo models (default: the data\'s own size)' })
    .option('epochs', { type: 'number', default: 10, describe: 'passes over the training set' })
    .option('batch-size', { type: 'number', default: 128, describe: 'images per step (the last incomplete batch is dropped)' })
    .option('lr', { type: 'number', default: 0.05, describe: 'peak learning rate' })
    .option('optimizer', { type: 'string', default: 'sgd', choices: ['sgd', 'adam', 'adamw'], describe: 'update rule (PyTorch semantics)' })
    .option('momentum', { type: 'number', default: 0.9, describe: 'SGD momentum' })
    .option('nesterov', { type: 'boolean', default: false, describe: 'Nesterov momentum (SGD)' })
    .option('weight-decay', { type: 'number', default: 5e-4, describe: 'L2 weight decay (decoupled for adamw)' })
    .option('no-decay-bn-bias', { type: 'boolean', default: false, describe: 'exempt BatchNorm parameters and biases from weight decay' })
    .option('schedule', { type: 'string', default: 'cosine', describe: 'learning-rate schedule: constant | cosine | step[:N] | multistep[:e1,e2,...]' })
    .option('warmup', { type: 'number', default: 0, describe: 'linear warm-up epochs' })
    .option('label-smoothing', { type: 'number', default: 0, describe: 'cross-entropy label smoothing' })
    .option('val-split', { type: 'number', describe: 'fraction of the training data held out when the dataset has no val/test split' })
    .option('augment', { type: 'string', default: 'auto', choices: ['auto', 'none', 'cifar', 'imagenet'], describe: 'training augmentation: cifar = random crop with padding + flip, imagenet = random-resized crop + flip; auto = cifar up to 64 px, imagenet above' })
    .option('mean', { type: 'string', describe: 'per-channel mean on the 0..1 pixel scale, e.g. 0.485,0.456,0.406 (with --std)' })
    .option('std', { type: 'string', describe: 'per-channel std on the 0..1 pixel scale, e.g. 0.229,0.224,0.225 (with --mean)' })
    .option('compute-stats', { type: 'boolean', describe: 'normalise with mean/std measured on (a 2,000-image sample of) the training images; default: yes for small in-memory data, ImageNet\'s for image files' })
    .option('crop-fraction', { type: 'number', describe: 'evaluation centre crop as a fraction of the resized shorter side (default 0.875 with --augment imagenet, else 1)' })
    .option('strict', { type: 'boolean', default: false, describe: 'fail on the first unreadable image instead of skipping it' })
    .option('device', { type: 'string', default: 'cpu', describe: 'cpu | cuda | webgpu | auto (tried in priority order)' })
    .option('threads', { type: 'number', describe: 'CPU threads for onnxruntime (default: all cores)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for initialisation, shuffling and augmentation' })
    .option('out', { type: 'string', default: 'runs/train', describe: 'output folder: model.onnx, run.json, checkpoint.bin' })
    .option('resume', { type: 'string', describe: 'resume from the checkpoint in this run folder' }),
  examples: [
    ['$0 train', 'train ResNet-8 on the embedded 12k-image Fashion-MNIST subset (the demo)'],
    ['$0 train --model zoo:resnet8 --data fashion-mnist --epochs 10', 'train a CIFAR-style ResNet-8 on the full Fashion-MNIST (Debian package)'],
    ['$0 train --model my.onnx --data photos/ --val-split 0.1 --out runs/mine', 'fine-tune your own ONNX model on an image folder'],
    ['$0 train --resume runs/mine --model my.onnx --data photos/ --val-split 0.1', 'continue an interrupted run'],
  ],
  run: async (a, ctx) => {
    const epochs = positive(a.epochs, '--epochs', true);
    const batchSize = positive(a['batch-size'], '--batch-size', true);
    const lr = positive(a.lr, '--lr');
    const outDir = resolve(String(a.resume ?? a.out));
    const input = a.input ? (parseDims(String(a.input), '--input', [3]) as [number, number, number]) : undefined;
    const data = await loadTrainingData(String(a.data), {
      ...(input ? { input } : {}), model: String(a.model), seed: Number(a.seed), strict: Boolean(a.strict), augment: String(a.augment),
      ...(a['val-split'] !== undefined ? { valSplit: Number(a['val-split']) } : {}),
      ...(a.mean !== undefined ? { mean: parseNumbers(String(a.mean), '--mean') } : {}),
      ...(a.std !== undefined ? { std: parseNumbers(String(a.std), '--std') } : {}),
      ...(a['compute-stats'] !== undefined ? { computeStats: Boolean(a['compute-stats']) } : {}),
      ...(a['crop-fraction'] !== undefined ? { cropFraction: Number(a['crop-fraction']) } : {}),
    }, ctx);
    const model = resolveStudentModel(String(a.model), { input: data.input, classes: data.classes.length, seed: Number(a.seed) });
    const config = { command: 'train', model: a.model, data: a.data, epochs, batchSize, lr, optimizer: a.optimizer, schedule: a.schedule, seed: a.seed, input: data.input };
    const noDecayBnBias = Boolean(a['no-decay-bn-bias']);
    const record = await train({
      model, train: data.train, val: data.val, classes: data.classes, preprocess: data.preprocess, epochs, batchSize, outDir, config,
      schedule: parseSchedule(String(a.schedule), lr, epochs, Number(a.warmup)),
      optimizer: String(a.optimizer),
      hyper: { weightDecay: Number(a['weight-decay']), momentum: Number(a.momentum), nesterov: Boolean(a.nesterov), beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      ...(noDecayBnBias ? { noDecay: 'norm-and-bias' as const } : {}),
      terms: [{ term: 'ce', options: { smoothing: Number(a['label-smoothing']) } }],
      device: String(a.device), ...(a.threads ? { threads: positive(a.threads, '--threads', true) } : {}),
      seed: Number(a.seed), resume: a.resume !== undefined, log: ctx.log, progress: !ctx.json,
    });
    data.report(ctx);
    if (ctx.json) ctx.print(JSON.stringify(record, null, 2));
    else {
      const last = record.history[record.history.length - 1];
      ctx.print(`done: ${record.outputs.model}` + (record.bestValAcc !== undefined ? ` (val acc last ${(record.lastValAcc! * 100).toFixed(2)}%, best ${(record.bestValAcc * 100).toFixed(2)}% at epoch ${record.bestEpoch})` : '') + (last ? `, ${last.imagesPerSecond.toFixed(0)} img/s` : ''));
    }
  },
};
