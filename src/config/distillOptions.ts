import type { OptionDef } from './types.js';

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
      "quantisation-aware training: the student's Conv/Gemm weights (per channel) and the activations its int8 export quantises pass through fake quantisation (activation ranges calibrated at the start, then tracked or held: --qat-ranges); its int8 export uses exactly the final parameters. In compress: fine-tune the fp32 student for --qat-epochs",
  },
  {
    key: 'qatRanges',
    type: 'string',
    default: 'tracked',
    choices: ['tracked', 'held'],
    describe:
      "--qat: activation ranges from the calibrated ones tracked by a moving average (0.01) of each batch's min/max, as PyTorch's MovingAverageMinMaxObserver (checkpointed state), or held at the calibrated ones",
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
