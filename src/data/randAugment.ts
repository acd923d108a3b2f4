import type { DataRng } from './random.js';
import {
  applyTrivial,
  SIGNED_OPS,
  TRIVIAL_BINS,
  TRIVIAL_OPS,
  torchLinspace,
  type Planar,
  type TrivialOp,
} from './trivialAugment.js';

// RandAugment (Cubuk et al. 2020, arXiv 1909.13719) as torchvision 0.14's RandAugment(num_ops, magnitude, 31 bins):
// num_ops times, an op drawn uniformly from the same 14 as TrivialAugmentWide, at the fixed bin `magnitude` of its
// own (narrower) ranges, a random sign for the signed ops; the ops are TrivialAugmentWide's, on the same bytes.

// The magnitude of `bin` for an op of RandAugment's space on an h x w image (its _augmentation_space).
export function randMagnitude(op: TrivialOp, bin: number, h: number, w: number): number {
  const lin = (hi: number) => torchLinspace(0, hi, TRIVIAL_BINS, bin);
  switch (op) {
    case 'ShearX':
    case 'ShearY':
      return lin(0.3);
    case 'TranslateX':
      return lin((150 / 331) * w);
    case 'TranslateY':
      return lin((150 / 331) * h);
    case 'Rotate':
      return lin(30);
    case 'Brightness':
    case 'Color':
    case 'Contrast':
    case 'Sharpness':
      return lin(0.9);
    case 'Posterize':
      return 8 - Math.round(Math.fround(bin / ((TRIVIAL_BINS - 1) / 4)));
    case 'Solarize':
      return torchLinspace(255, 0, TRIVIAL_BINS, bin);
    default:
      return 0;
  }
}

// RandAugment on one image: `ops` draws of (op, sign), each applied at bin `magnitude`.
export function randAugment(img: Planar, ops: number, magnitude: number, rng: DataRng): Planar {
  let out = img;
  for (let k = 0; k < ops; k++) {
    const op = TRIVIAL_OPS[rng.int(TRIVIAL_OPS.length)]!;
    let m = randMagnitude(op, magnitude, img.h, img.w);
    if (SIGNED_OPS.has(op) && rng.int(2)) m = -m;
    out = applyTrivial(out, op, m);
  }
  return out;
}
