import { AUGMENT_OPTIONS } from './augmentOptions.js';
import type { OptionDef } from './types.js';

// Options `train` and `distill` share.
export const COMMON_OPTIONS: OptionDef[] = [
  {
    key: 'data',
    type: 'string',
    describe: 'dataset: an image folder root/<class>/*, IDX folder, CSV/JSONL list, or fashion-mnist | mnist',
    defaultDescription: 'the embedded Fashion-MNIST subset',
  },
  {
    key: 'input',
    type: 'string',
    describe: "input CxHxW for zoo models (default: the teacher's or the data's own size)",
  },
  {
    key: 'epochs',
    type: 'number',
    default: 10,
    integer: true,
    positive: true,
    describe: 'passes over the training set',
  },
  {
    key: 'batchSize',
    type: 'number',
    default: 128,
    integer: true,
    positive: true,
    describe: 'images per step (the last incomplete batch is dropped)',
  },
  { key: 'lr', type: 'number', default: 0.05, positive: true, describe: 'peak learning rate' },
  {
    key: 'optimizer',
    type: 'string',
    default: 'sgd',
    choices: ['sgd', 'adam', 'adamw'],
    describe: 'update rule (PyTorch semantics)',
  },
  { key: 'momentum', type: 'number', default: 0.9, nonNegative: true, describe: 'SGD momentum' },
  { key: 'nesterov', type: 'boolean', default: false, describe: 'Nesterov momentum (SGD)' },
  {
    key: 'weightDecay',
    type: 'number',
    default: 5e-4,
    nonNegative: true,
    describe: 'L2 weight decay (decoupled for adamw)',
  },
  {
    key: 'noDecayBnBias',
    type: 'boolean',
    default: false,
    describe: 'exempt BatchNorm parameters and biases from weight decay',
  },
  {
    key: 'schedule',
    type: 'string',
    default: 'cosine',
    describe: 'learning-rate schedule: constant | cosine | step[:N] | multistep[:e1,e2,...]',
  },
  { key: 'warmup', type: 'number', default: 0, nonNegative: true, describe: 'linear learning-rate warm-up epochs' },
  {
    key: 'lrUpdate',
    type: 'string',
    choices: ['step', 'epoch'],
    defaultDescription: 'step for cosine and constant, epoch for step/multistep',
    describe:
      "when the schedule's decay moves: every step (as timm and the PyTorch reference recipes) or at epoch boundaries (a PyTorch scheduler stepped per epoch); warm-up is per step either way",
  },
  {
    key: 'bnRecalibrate',
    type: 'number',
    default: 0,
    integer: true,
    nonNegative: true,
    describe:
      "after training, re-estimate BatchNorm running statistics on N augmented training batches (cumulative average, as PyTorch's momentum=None) before export; 0 = off",
  },
  { key: 'labelSmoothing', type: 'number', default: 0, describe: 'cross-entropy label smoothing' },
  {
    key: 'valSplit',
    type: 'number',
    describe:
      'fraction of the training data held out when the dataset has no val/test split (unlabeled data: 0.1, to measure agreement with the teacher)',
  },
  {
    key: 'valData',
    type: 'string',
    describe:
      'a separate labelled dataset (folder, list, IDX) to report accuracy on, with any training data; its val/t10k split when it has one',
  },
  {
    key: 'unlabeled',
    type: 'boolean',
    describe:
      "ignore the data's labels (class sub-folders included): distil from the images alone (default: unlabeled when the folder holds images directly, or the list/IDX has no labels)",
  },
  {
    key: 'augment',
    type: 'string',
    default: 'auto',
    choices: ['auto', 'none', 'cifar', 'imagenet', 'trivial'],
    describe:
      'training augmentation preset: cifar = RandomCrop(padding) + RandomHorizontalFlip, imagenet = RandomResizedCrop + RandomHorizontalFlip; auto = cifar up to 64 px, imagenet above; trivial = auto + TrivialAugmentWide; the --crop-*, --padding-mode, --flip-prob and --rrc-* options set its parameters',
  },
  ...AUGMENT_OPTIONS,
  {
    key: 'mean',
    type: 'string',
    describe: 'per-channel mean on the 0..1 pixel scale, e.g. 0.485,0.456,0.406 (with --std)',
  },
  {
    key: 'std',
    type: 'string',
    describe: 'per-channel std on the 0..1 pixel scale, e.g. 0.229,0.224,0.225 (with --mean)',
  },
  {
    key: 'computeStats',
    type: 'boolean',
    describe: 'normalise with mean/std measured on (a sample of) the training images',
  },
  { key: 'cropFraction', type: 'number', describe: 'evaluation centre crop as a fraction of the resized shorter side' },
  {
    key: 'strict',
    type: 'boolean',
    default: false,
    describe: 'fail on the first unreadable image instead of skipping it',
  },
  { key: 'device', type: 'string', default: 'cpu', describe: 'cpu | cuda | webgpu | auto (tried in priority order)' },
  {
    key: 'threads',
    type: 'number',
    integer: true,
    positive: true,
    describe: 'CPU threads for onnxruntime (default: all cores)',
  },
  {
    key: 'seed',
    type: 'number',
    default: 0,
    integer: true,
    describe: 'seed for initialisation, shuffling and augmentation',
  },
].map((o) => ({ ...o, common: true }) as OptionDef);
