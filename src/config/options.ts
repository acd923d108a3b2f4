import { AUGMENT_OPTIONS } from './augmentOptions.js';
import type { OptionDef } from './types.js';

export type { OptionDef } from './types.js';

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

// Options only `distill` has.
export const DISTILL_OPTIONS: OptionDef[] = [
  {
    key: 'teacher',
    type: 'string',
    describe: 'the teacher: an .onnx classifier or zoo:<name> (trained from scratch by online methods)',
    defaultDescription: 'the shipped Fashion-MNIST teacher',
  },
  {
    key: 'student',
    type: 'strings',
    default: ['zoo:cnn'],
    describe: 'a student: zoo:<name>, an .onnx file, or slim:<ratio> of the teacher; repeat for several',
  },
  {
    key: 'students',
    type: 'number',
    integer: true,
    positive: true,
    describe: 'K copies of the (single) --student spec, each with its own seed',
  },
  {
    key: 'method',
    type: 'string',
    default: 'kd',
    describe:
      'method preset(s), mixed with +: ce, kd, dml, kdml, fitnet, at, sp, pkt, dkd, dist, ctkd, wsld, nkd, sokd, mgd+<kd|fitnet|at|sp>, ifm (e.g. kd+at)',
  },
  {
    key: 'terms',
    type: 'terms',
    describe: 'term weights, e.g. ce=0.1,kd=0.9,at=1000 (a name selects every use of that term)',
  },
  {
    key: 'pseudoLabels',
    type: 'boolean',
    default: false,
    describe:
      "terms that read labels (ce, dkd) get the teacher's argmax instead: labels noisier than the teacher, or missing (with --unlabeled)",
  },
  { key: 'tau', type: 'number', positive: true, describe: "KD temperature (default: each method's own, 4 for kd)" },
  {
    key: 'freeze',
    type: 'string',
    describe:
      'keep early parts of the student fixed: a tap (f1, f2, embedding, or a value name) freezes every tensor it is computed from, a pattern (conv1.*, layer1.*) the matching ones; comma-separated; frozen BatchNorms keep their statistics',
  },
  {
    key: 'logitStandardize',
    type: 'string',
    describe:
      'z-score the logits before the temperature (arXiv 2403.01427) in every KL-based term (kd, kl, dkd, kdavg, gkd, ctkd): bare or `all`, or only the terms named as --terms names them (e.g. kd,kl.student2); the paper pairs it with --tau 2 and a KD weight of 9',
  },
  {
    key: 'teacherLr',
    type: 'number',
    positive: true,
    describe: 'learning-rate multiplier of a trainable (online) teacher',
    default: 1,
  },
  {
    key: 'kbmTap',
    type: 'string',
    describe: 'sokd: the teacher tap that feeds the knowledge bridge module (a tap name or value name)',
    defaultDescription: "the input of the teacher's last stage",
  },
  {
    key: 'kbmInit',
    type: 'string',
    default: 'random',
    choices: ['random', 'copy'],
    describe:
      "sokd: start the knowledge bridge module from fresh weights (as the reference code) or from the teacher's",
  },
  {
    key: 'mgdVariant',
    type: 'string',
    default: 'mag',
    choices: ['mag', 'mas'],
    describe:
      "mgd: granularity-wise distillation (mag) or stable excitation, KD towards the mean of the teacher's three logit heads (mas)",
  },
  {
    key: 'proxy',
    type: 'string',
    describe: "ifm: the proxy teacher, zoo:<name> or an .onnx classifier with the student's stage taps",
    defaultDescription: "the zoo student's architecture at twice the width",
  },
  {
    key: 'stageOptimizer',
    type: 'string',
    default: 'method',
    choices: ['method', 'run'],
    describe:
      "staged methods (mgd, ifm): each stage's optimizer and learning rate from its reference code (method), or --optimizer/--lr/--weight-decay for every stage (run); a config file's `stages:` overrides either per stage",
  },
  {
    key: 'stages',
    type: 'stages',
    fileOnly: true,
    describe:
      'config file only: per-stage settings of a staged method by stage name, e.g. `stages: { heads: { epochs: 5, optimizer: adam, lr: 1e-3 } }`; each stage takes epochs, optimizer, lr, momentum, nesterov, weightDecay, schedule, warmup, lrUpdate, terms',
  },
  {
    key: 'out',
    type: 'string',
    default: 'runs/distill',
    describe: 'output folder: <student>.onnx, ensemble.onnx, run.json, checkpoint.bin',
  },
  { key: 'resume', type: 'string', describe: 'resume from the checkpoint in this run folder' },
  {
    key: 'teacherCache',
    type: 'string',
    default: 'off',
    describe:
      "replay a frozen teacher's logits from disk (methods reading only its logits: kd, dkd): auto = <out>/../.teacher-cache, off, or a folder",
  },
  {
    key: 'qat',
    type: 'boolean',
    describe:
      "quantisation-aware training: the student's Conv/Gemm weights (per channel) and the activations its int8 export quantises pass through fake quantisation (activation ranges calibrated at the start, then held); its int8 export uses exactly these parameters. In compress: fine-tune the fp32 student for --qat-epochs",
  },
  {
    key: 'calibration',
    type: 'number',
    default: 512,
    integer: true,
    positive: true,
    describe: 'int8 (export and --qat): training images to calibrate activation ranges on',
  },
  {
    key: 'calibrate',
    type: 'string',
    default: 'percentile',
    choices: ['percentile', 'minmax', 'entropy'],
    describe: 'int8 (export and --qat): activation range calibrator',
  },
  {
    key: 'weightBits',
    type: 'number',
    default: 7,
    integer: true,
    describe:
      "int8 (export and --qat): weight bits: 7 runs unsaturated on every x86 CPU (onnxruntime's AVX2 kernels without VNNI saturate 8-bit weights), 8 keeps one more bit for VNNI or ARM targets",
  },
  {
    key: 'saveArtifacts',
    type: 'string',
    describe:
      'also write the compiled training-step and evaluation graphs, the initial state and a JSON contract to this folder',
  },
];

// Options only `train` has.
export const TRAIN_OPTIONS: OptionDef[] = [
  {
    key: 'model',
    type: 'string',
    default: 'zoo:resnet8',
    describe: 'zoo:<name> (see `onnx-distill models`) or a path to an .onnx classifier',
  },
  {
    key: 'out',
    type: 'string',
    default: 'runs/train',
    describe: 'output folder: model.onnx, run.json, checkpoint.bin',
  },
  { key: 'resume', type: 'string', describe: 'resume from the checkpoint in this run folder' },
];

// Options only `compress` has (it also takes every distill option; see compressOptionTable).
export const COMPRESS_OPTIONS: OptionDef[] = [
  {
    key: 'size',
    type: 'number',
    positive: true,
    describe:
      "parameter budget as a fraction of the teacher's: the student is the best zoo or slim: candidate under it (ignored with --student)",
    defaultDescription: '0.25',
  },
  {
    key: 'formats',
    type: 'string',
    default: 'fp32,fp16,int8',
    describe: 'export formats, comma-separated: fp32, fp16, int8',
  },
  {
    key: 'qatEpochs',
    type: 'number',
    default: 2,
    integer: true,
    positive: true,
    describe:
      'epochs of the quantisation-aware fine-tune (--qat, --max-int8-drop): from the fp32 student, at a tenth of --lr, with the same distillation terms',
  },
  {
    key: 'maxInt8Drop',
    type: 'number',
    nonNegative: true,
    max: 100,
    describe:
      'run the quantisation-aware fine-tune by itself when the PTQ int8 student loses more than this many top-1 points against its fp32 export',
  },
  {
    key: 'verifyImages',
    type: 'number',
    default: 1000,
    integer: true,
    positive: true,
    describe: 'validation images each export is verified on (onnxruntime-node and -web against fp32)',
  },
  {
    key: 'latencySeconds',
    type: 'number',
    default: 10,
    positive: true,
    describe:
      'time budget of the latency measurement per model and batch size (batch 1 and 32): up to 30 timed runs or this many seconds, whichever comes first, so a large teacher cannot dominate the job',
  },
];

// Default epochs of `compress`: the no-argument run (the shipped teacher, the embedded 12k-image subset, a student
// of zoo:cnn's size) trains, exports and evaluates within 10 minutes on 2 CPU cores.
export const COMPRESS_EPOCHS = 10;

// The option table of `compress`: distill's (student chosen by --size unless given, its own --out and --epochs
// defaults) plus its own.
export function compressOptionTable(): OptionDef[] {
  const own: Record<string, Partial<OptionDef>> = {
    epochs: { default: COMPRESS_EPOCHS },
    student: {
      default: undefined,
      defaultDescription: 'chosen by --size',
      describe:
        'the student: zoo:<name>, an .onnx file, or slim:<ratio> of the teacher; repeat for several (instead of --size)',
    },
    out: {
      default: 'runs/compress',
      describe:
        'output folder: the distill run, each export (<student>.<format>.onnx), report.json, report.md and the plots',
    },
    method: {
      default: undefined,
      defaultDescription: 'kd, or kdml with --students K',
      describe:
        'method preset(s), mixed with +: ce, kd, dml, kdml, fitnet, at, sp, pkt, dkd, dist, ctkd, wsld, nkd (e.g. kd+at)',
    },
  };
  return [...DISTILL_OPTIONS, ...COMMON_OPTIONS, ...COMPRESS_OPTIONS].map((o) =>
    own[o.key] ? { ...o, ...own[o.key] } : o,
  );
}

// The keys a `stages:` entry may set: the run's own options of those names, applied to one stage.
export const STAGE_KEYS = [
  'epochs',
  'optimizer',
  'lr',
  'momentum',
  'nesterov',
  'weightDecay',
  'schedule',
  'warmup',
  'lrUpdate',
  'terms',
] as const;

// One stage's settings from `stages:`; unset keys keep the stage's default (its method's, or the run's).
export interface StageConfig {
  epochs?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: string;
  warmup?: number;
  lrUpdate?: 'step' | 'epoch';
  terms?: string | Record<string, number>;
}

// The option definitions of the stage keys (from the common table, so a stage key checks as its run option does).
export function stageOptionDefs(): OptionDef[] {
  return STAGE_KEYS.map((k) => COMMON_OPTIONS.find((o) => o.key === k) ?? DISTILL_OPTIONS.find((o) => o.key === k)!);
}

// camelCase key -> --kebab-case flag.
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
