// The label of an image without one (unlabeled data: a folder without class folders, a list without a label column).
export const UNLABELED = -1;

// One labelled example before decoding: a file path (or an index into an in-memory array) and its class.
export interface Sample {
  path: string;
  label: number;
}

// A decoded image set kept in memory as uint8 CHW (small datasets: IDX files, or images of 64 px or less).
export interface MemoryImages {
  kind: 'memory';
  images: Uint8Array; // [N, C, H, W]
  labels: Int32Array;
  shape: [number, number, number];
}

// A set of image files decoded per batch with sharp (large images).
export interface FileImages {
  kind: 'files';
  samples: Sample[];
}

// Where a split's pixels come from.
export type SplitSource = MemoryImages | FileImages;

// A source as opened: class names and the train / validation sources.
export interface OpenedSource {
  // Class names; empty for unlabeled data (every label UNLABELED: the classes are the model's).
  classes: string[];
  unlabeled?: boolean;
  train: SplitSource;
  val?: SplitSource;
  // The images' own size, when the source knows it (IDX files).
  nativeShape?: [number, number, number];
  description: string;
}

// A file that could not be decoded, kept for the end-of-run report.
export interface Failure {
  path: string;
  reason: string;
}

// How a random crop pads the image (torchvision's padding_mode).
export type PadMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

// Per-batch augmentation of in-memory uint8 CHW images (CIFAR recipe): torchvision's RandomCrop(size, padding,
// fill, padding_mode) then RandomHorizontalFlip(p).
export interface Augment {
  padCrop: number; // pixels of padding for the random crop (0 = none)
  flip: boolean;
  flipProb?: number; // default 0.5
  padMode?: PadMode; // default constant
  fill?: number[]; // per channel, 0..255; default 0
  trivial?: boolean; // then TrivialAugmentWide on the cropped, flipped bytes
  randaugment?: [number, number]; // or RandAugment(num_ops, magnitude bin)
}
