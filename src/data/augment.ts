import { UserError } from '../util/errors.js';
import type { DataRng } from './random.js';
import { randAugment } from './randAugment.js';
import type { Box } from './resample.js';
import type { Augment } from './types.js';
import { trivialAugment, type Planar } from './trivialAugment.js';

// torchvision's RandomCrop padding modes (F.pad): fill with a constant, repeat the edge, mirror without / with it.
import type { PadMode } from './types.js';
export type { PadMode } from './types.js';

// The augmentation parameters a run may set (flags / config keys of the same names); unset ones keep the preset's.
export interface AugmentParams {
  cropPadding?: number;
  cropFill?: number[];
  paddingMode?: PadMode;
  flipProb?: number;
  rrcScale?: number[];
  rrcRatio?: number[];
  // RandAugment(num_ops, magnitude bin)
  randaugment?: number[];
}

// The augmentation parameters set in a resolved config (its keys are the flags' camelCase names).
export function augmentParamsOf(cfg: AugmentParams): AugmentParams {
  const keys = ['cropPadding', 'cropFill', 'paddingMode', 'flipProb', 'rrcScale', 'rrcRatio', 'randaugment'] as const;
  return Object.fromEntries(keys.filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]])) as AugmentParams;
}

// A training split's augmentation: the padded random crop and flip of `Augment`, or a random-resized crop.
export type TrainAugment = Augment & {
  randomResizedCrop?: boolean;
  scale?: [number, number];
  ratio?: [number, number];
};

// The strong policy after crop and flip, on the crop's bytes: TrivialAugmentWide or RandAugment(N, M), else none.
export function applyPolicy(a: Augment, img: Planar, rng: DataRng): Planar {
  if (a.trivial) return trivialAugment(img, rng);
  if (a.randaugment) return randAugment(img, a.randaugment[0], a.randaugment[1], rng);
  return img;
}

// torchvision's RandomResizedCrop defaults: 8-100% of the area, aspect ratio 3/4 to 4/3.
export const RRC_DEFAULTS = { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] };

// torchvision's defaults of the parameters (--crop-padding's depends on the input: see defaultPadding). A parameter
// at its default never conflicts with a preset that does not use it.
export const AUGMENT_DEFAULTS: Required<Omit<AugmentParams, 'cropPadding' | 'randaugment'>> = {
  cropFill: [0],
  paddingMode: 'constant',
  flipProb: 0.5,
  rrcScale: RRC_DEFAULTS.scale,
  rrcRatio: RRC_DEFAULTS.ratio,
};

// The cifar preset's padding when --crop-padding is not given: an eighth of the shorter side (4 px at 28-32 px).
export function defaultPadding(input: [number, number, number]): number {
  return Math.max(1, Math.round(Math.min(input[1], input[2]) / 8));
}

// Which parameters belong to which preset, for the error that names a parameter its preset does not use.
const CIFAR_ONLY = ['cropPadding', 'cropFill', 'paddingMode'] as const;
const IMAGENET_ONLY = ['rrcScale', 'rrcRatio'] as const;
const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

// A preset (`--augment`) with its parameters overridden: torchvision's RandomCrop(padding, fill, padding_mode) +
// RandomHorizontalFlip(p) for cifar, RandomResizedCrop(scale, ratio) + RandomHorizontalFlip(p) for imagenet; auto
// and trivial pick one by size, and trivial adds TrivialAugmentWide after the flip.
export function resolveAugment(
  preset: string,
  p: AugmentParams,
  input: [number, number, number],
  small: boolean,
): TrainAugment | undefined {
  const kind = preset === 'auto' || preset === 'trivial' ? (small ? 'cifar' : 'imagenet') : preset;
  const trivial = preset === 'trivial' ? { trivial: true } : {};
  const isDefault = (k: keyof AugmentParams) =>
    k !== 'cropPadding' && k !== 'randaugment' && JSON.stringify(p[k]) === JSON.stringify(AUGMENT_DEFAULTS[k]);
  const given = (keys: readonly (keyof AugmentParams)[]) => keys.find((k) => p[k] !== undefined && !isDefault(k));
  const wrong =
    kind === 'none'
      ? given([...CIFAR_ONLY, ...IMAGENET_ONLY, 'flipProb'])
      : given(kind === 'cifar' ? IMAGENET_ONLY : CIFAR_ONLY);
  if (wrong)
    throw new UserError(
      `${flag(wrong)} has no effect with --augment ${preset}${preset === 'auto' || preset === 'trivial' ? ` (${kind} at ${input.join('x')})` : ''}; it belongs to --augment ${(CIFAR_ONLY as readonly string[]).includes(wrong) ? 'cifar' : IMAGENET_ONLY.includes(wrong as 'rrcScale') ? 'imagenet' : 'cifar or imagenet'}`,
    );
  if (kind === 'none') {
    if (p.randaugment)
      throw new UserError(`--randaugment has no effect with --augment none; use cifar, imagenet or auto`);
    return undefined;
  }
  const ra = p.randaugment;
  if (ra && preset === 'trivial')
    throw new UserError(
      `--randaugment with --augment trivial: give one strong policy (TrivialAugmentWide or RandAugment)`,
    );
  if (ra && (!Number.isInteger(ra[0]) || ra[0]! < 1 || !Number.isInteger(ra[1]) || ra[1]! < 0 || ra[1]! > 30))
    throw new UserError(
      `--randaugment ${ra.join(',')}: give N,M with N ≥ 1 ops and M a magnitude bin 0..30 (torchvision's default is 2,9)`,
    );
  const policy = { ...trivial, ...(ra ? { randaugment: [ra[0]!, ra[1]!] as [number, number] } : {}) };
  const flipProb = p.flipProb ?? 0.5;
  const flip = { flip: flipProb > 0, ...(flipProb !== 0.5 && flipProb > 0 ? { flipProb } : {}) };
  if (kind === 'imagenet') {
    const pair = (v: number[] | undefined, d: [number, number]) => (v ? ([v[0]!, v[1]!] as [number, number]) : d);
    const scale = pair(p.rrcScale, RRC_DEFAULTS.scale),
      ratio = pair(p.rrcRatio, RRC_DEFAULTS.ratio);
    if (!(scale[1] > 0))
      throw new UserError(`--rrc-scale: ${scale.join(',')}: the upper area fraction must be positive`);
    return {
      padCrop: 0,
      ...flip,
      randomResizedCrop: true,
      ...(p.rrcScale && !isDefault('rrcScale') ? { scale } : {}),
      ...(p.rrcRatio && !isDefault('rrcRatio') ? { ratio } : {}),
      ...policy,
    };
  }
  const pad = p.cropPadding ?? defaultPadding(input);
  const mode = p.paddingMode ?? 'constant';
  const side = Math.min(input[1], input[2]);
  if ((mode === 'reflect' && pad >= side) || (mode === 'symmetric' && pad > side))
    throw new UserError(
      `--crop-padding ${pad}: ${mode} padding needs the padding ${mode === 'reflect' ? 'below' : 'at most'} the image side (${side}), as torch's pad`,
    );
  if (p.cropFill && p.cropFill.some((v) => v < 0 || v > 255))
    throw new UserError(`--crop-fill: ${p.cropFill.join(',')}: pixel values are 0..255`);
  if (p.cropFill && p.cropFill.length !== 1 && p.cropFill.length !== input[0])
    throw new UserError(
      `--crop-fill: ${p.cropFill.length} values for a ${input[0]}-channel input; give 1 or ${input[0]}`,
    );
  const fill =
    p.cropFill && p.cropFill.some((v) => v !== 0)
      ? { fill: p.cropFill.length === 1 ? new Array<number>(input[0]).fill(p.cropFill[0]!) : p.cropFill }
      : {};
  return { padCrop: pad, ...flip, ...(mode !== 'constant' ? { padMode: mode } : {}), ...fill, ...policy };
}

// A training augmentation as the torchvision pipeline it equals (for the log and run.json).
export function describeAugment(a: TrainAugment | undefined, input: [number, number, number]): string {
  if (!a) return 'none';
  const [, h, w] = input;
  const parts: string[] = [];
  const num = (v: number) => String(Math.round(v * 1e4) / 1e4);
  if (a.randomResizedCrop) {
    const s = a.scale ?? RRC_DEFAULTS.scale,
      r = a.ratio ?? RRC_DEFAULTS.ratio;
    parts.push(`RandomResizedCrop((${h}, ${w}), scale=(${s.map(num).join(', ')}), ratio=(${r.map(num).join(', ')}))`);
  } else if (a.padCrop > 0) {
    const fill = a.fill
      ? a.fill.every((v) => v === a.fill![0])
        ? num(a.fill[0]!)
        : `(${a.fill.map(num).join(', ')})`
      : '0';
    parts.push(
      `RandomCrop((${h}, ${w}), padding=${a.padCrop}, fill=${fill}, padding_mode='${a.padMode ?? 'constant'}')`,
    );
  }
  if (a.flip) parts.push(`RandomHorizontalFlip(p=${num(a.flipProb ?? 0.5)})`);
  if (a.trivial) parts.push('TrivialAugmentWide(num_magnitude_bins=31, interpolation=NEAREST, fill=0)');
  if (a.randaugment)
    parts.push(
      `RandAugment(num_ops=${a.randaugment[0]}, magnitude=${a.randaugment[1]}, num_magnitude_bins=31, interpolation=NEAREST, fill=0)`,
    );
  return parts.join(' + ') || 'none';
}

// Where a padded coordinate reads from in 0..n-1, as torch's pad modes; -1 = the constant fill.
export function padIndex(i: number, n: number, mode: PadMode = 'constant'): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'edge':
      return i < 0 ? 0 : n - 1;
    case 'reflect':
      return i < 0 ? -i : 2 * (n - 1) - i;
    case 'symmetric':
      return i < 0 ? -i - 1 : 2 * n - 1 - i;
  }
}

// Python's round(): halves to even (torchvision's CenterCrop offsets and RandomResizedCrop sizes use it).
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// --eval-resize checked against the input: the resized image must cover the centre crop (torchvision would pad).
export function checkEvalResize(size: number, input: [number, number, number]): void {
  if (size < Math.max(input[1], input[2]))
    throw new UserError(
      `--eval-resize ${size}: smaller than the ${input[2]}x${input[1]} centre crop; give at least ${Math.max(input[1], input[2])}`,
    );
}

// torchvision's Resize(size) (shorter side to `size`, the longer one truncated as int(size * long / short)) then
// CenterCrop(h, w) (offsets int(round((H - h) / 2))), as a box in the input's pixels. Not cut: the resize filter
// reads the whole image, so the box's pixels are exactly those of the resized image's crop.
export function resizeCenterBox(iw: number, ih: number, size: number, w: number, h: number): Box {
  const [rw, rh] = iw <= ih ? [size, Math.trunc((size * ih) / iw)] : [Math.trunc((size * iw) / ih), size];
  const left = roundHalfEven((rw - w) / 2),
    top = roundHalfEven((rh - h) / 2);
  const sx = iw / rw,
    sy = ih / rh;
  return { left: left * sx, top: top * sy, width: w * sx, height: h * sy };
}
