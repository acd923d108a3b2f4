import type { Model } from '../ir/model.js';

// What every zoo builder is parameterised by: the data's image shape, the class count and the weight seed.
export interface ZooOptions {
  inChannels: number;
  height: number;
  width: number;
  classes: number;
  seed: number;
}

// One named architecture of the zoo; `reference` says which public code its layout and init follow.
export interface ZooEntry {
  name: string;
  family: string;
  describe: string;
  reference: string;
  build: (opts: ZooOptions) => Model;
  // The same architecture with every layer twice as wide (information-flow KD's proxy teacher, methods.md §6(a)).
  widen?: () => ZooEntry;
  // The same architecture with another patch size (`vit-tiny-p8`): families whose patch is a free parameter.
  withPatch?: (patch: number) => ZooEntry;
}

// Tap names every zoo model exposes (methods.md §1.1); `f4` may equal `embedding` (ResNet, WRN, ShuffleNet).
export const TAP_NAMES = ['f0', 'f1', 'f2', 'f3', 'f4', 'embedding', 'logits'] as const;
export type TapName = (typeof TAP_NAMES)[number];

// The metadata keys of the tap map and the zoo recipe, under the names the zoo's callers know (ir/metadata.ts owns them).
export { META_TAPS as TAPS_METADATA_KEY, META_ZOO as ZOO_METADATA_KEY } from '../ir/metadata.js';
