import type { OptionDef } from './types.js';

// The augmentation parameters, torchvision's names and meanings (issue 23): `--augment` picks a preset, these
// override its parameters. Defaults are torchvision's (the data layer's AUGMENT_DEFAULTS, checked equal by a
// test). One table of its own, spliced into the common options, so other option groups merge around it.
export const AUGMENT_OPTIONS: OptionDef[] = [
  {
    key: 'cropPadding',
    type: 'number',
    integer: true,
    nonNegative: true,
    describe: 'cifar: RandomCrop(size, padding=P): pixels of padding on each side before the random crop (0 = no crop)',
    defaultDescription: 'max(1, round(min(H,W)/8)): 4 px at 28-32 px',
  },
  {
    key: 'cropFill',
    type: 'numbers',
    count: [1, 3],
    default: [0],
    defaultDescription: '0',
    describe: 'cifar: RandomCrop fill of constant padding, pixel value(s) 0..255, one or one per channel',
  },
  {
    key: 'paddingMode',
    type: 'string',
    default: 'constant',
    choices: ['constant', 'edge', 'reflect', 'symmetric'],
    describe: 'cifar: RandomCrop padding_mode',
  },
  {
    key: 'flipProb',
    type: 'number',
    default: 0.5,
    nonNegative: true,
    max: 1,
    describe: 'RandomHorizontalFlip(p) of the cifar and imagenet presets (0 = no flip)',
  },
  {
    key: 'rrcScale',
    type: 'numbers',
    count: [2],
    default: [0.08, 1],
    defaultDescription: '0.08,1',
    range: [0, 1],
    ordered: true,
    describe: 'imagenet: RandomResizedCrop scale, area fraction lo,hi',
  },
  {
    key: 'rrcRatio',
    type: 'numbers',
    count: [2],
    default: [3 / 4, 4 / 3],
    positive: true,
    ordered: true,
    describe: 'imagenet: RandomResizedCrop ratio, aspect (w/h) lo,hi, sampled log-uniform',
    defaultDescription: '0.75,1.3333',
  },
  {
    key: 'randaugment',
    type: 'numbers',
    count: [2],
    describe:
      "RandAugment(num_ops=N, magnitude=M) after the preset's crop and flip, as N,M (torchvision's 31 bins, M in 0..30; its default 2,9)",
  },
  {
    key: 'mixup',
    type: 'number',
    default: 0,
    nonNegative: true,
    describe:
      'Mixup α: each batch mixed with itself rolled by one, λ ~ Beta(α, α), targets mixed alike (torchvision reference RandomMixup; 0 = off); the teacher sees the mixed images, the teacher cache is not used',
  },
  {
    key: 'cutmix',
    type: 'number',
    default: 0,
    nonNegative: true,
    describe:
      'CutMix α (torchvision reference RandomCutmix; 0 = off); with --mixup too, each batch takes one of the two at random',
  },
  {
    key: 'evalResize',
    type: 'number',
    integer: true,
    positive: true,
    describe:
      "evaluation as torchvision's Resize(N) + CenterCrop(input): the shorter side resized to N pixels, the centre kept (instead of --crop-fraction; applies to small validation folders too)",
  },
];
