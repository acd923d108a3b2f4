import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EMBEDDED_DATA } from '../../src/pipeline/assets.js';

// A tiny labelled image set for the export target: two images per class from each split of the embedded
// Fashion-MNIST subset (the fixtures take 1x28x28 and give 10 classes), written once per fuzz run as an IDX folder so
// that calibration and verification see real images but cost milliseconds.

export const PER_CLASS = 2;
const CLASSES = 10;
const SIDE = 28;

function header(magic: number, dims: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

// The first PER_CLASS images of each class of one split, in file order.
function pick(prefix: string): { images: Buffer; labels: Buffer } {
  const img = gunzipSync(readFileSync(join(EMBEDDED_DATA, `${prefix}-images-idx3-ubyte.gz`)));
  const lab = gunzipSync(readFileSync(join(EMBEDDED_DATA, `${prefix}-labels-idx1-ubyte.gz`)));
  const seen = new Array<number>(CLASSES).fill(0);
  const chosen: number[] = [];
  for (let i = 0; chosen.length < CLASSES * PER_CLASS && 8 + i < lab.length; i++) {
    const l = lab[8 + i]!;
    if (seen[l]! < PER_CLASS) {
      seen[l]!++;
      chosen.push(i);
    }
  }
  const px = SIDE * SIDE;
  return {
    images: Buffer.concat(chosen.map((i) => img.subarray(16 + i * px, 16 + (i + 1) * px))),
    labels: Buffer.from(chosen.map((i) => lab[8 + i]!)),
  };
}

// Write the IDX folder (train-* for calibration, t10k-* for verification) and return its path.
export function writeFuzzImages(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const prefix of ['train', 't10k']) {
    const { images, labels } = pick(prefix);
    writeFileSync(
      join(dir, `${prefix}-images-idx3-ubyte`),
      Buffer.concat([header(0x803, [labels.length, SIDE, SIDE]), images]),
    );
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), Buffer.concat([header(0x801, [labels.length]), labels]));
  }
  return dir;
}
