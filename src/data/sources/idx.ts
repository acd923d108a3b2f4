import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../../util/errors.js';
import { UNLABELED, type MemoryImages, type OpenedSource } from '../types.js';

// Read one IDX file (MNIST format), gzipped or not; errors name the file.
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err: unknown) {
      throw new UserError(`${path}: corrupt gzip data (${String(err)})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08)
    throw new UserError(`${path}: not an unsigned-byte IDX file`);
  const rank = buf[3]!;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const data = buf.subarray(4 + 4 * rank);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    throw new UserError(
      `${path}: IDX header says ${dims.join('x')} (${n} bytes) but the file has ${data.length}; it is truncated or corrupt`,
    );
  return { dims, data };
}

function find(dir: string, stem: string): string | undefined {
  for (const name of [
    `${stem}`,
    `${stem}.gz`,
    stem.replace(/-idx(\d)-ubyte/, '.idx$1-ubyte'),
    `${stem.replace(/-idx(\d)-ubyte/, '.idx$1-ubyte')}.gz`,
  ]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function split(dir: string, prefix: string, classes: number): MemoryImages | undefined {
  const imgPath = find(dir, `${prefix}-images-idx3-ubyte`);
  const labPath = find(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgPath || !labPath) return undefined;
  const img = readIdx(imgPath);
  const lab = readIdx(labPath);
  if (img.dims.length !== 3)
    throw new UserError(`${imgPath}: expected images as N x H x W, found ${img.dims.join('x')}`);
  if (lab.dims[0] !== img.dims[0])
    throw new UserError(`${labPath}: ${lab.dims[0]} labels for ${img.dims[0]} images in ${imgPath}`);
  const labels = Int32Array.from(lab.data);
  const bad = labels.findIndex((l) => l >= classes);
  if (bad >= 0)
    throw new UserError(`${labPath}: label ${labels[bad]} at index ${bad} is outside the ${classes} classes`);
  return { kind: 'memory', images: img.data, labels, shape: [1, img.dims[1]!, img.dims[2]!] };
}

// True when a folder holds MNIST-style IDX files.
export function isIdxFolder(dir: string): boolean {
  return !!find(dir, 'train-images-idx3-ubyte');
}

// Images without their labels file (or with it ignored): unlabeled in-memory splits.
function unlabeledSplit(dir: string, prefix: string): MemoryImages | undefined {
  const imgPath = find(dir, `${prefix}-images-idx3-ubyte`);
  if (!imgPath) return undefined;
  const img = readIdx(imgPath);
  if (img.dims.length !== 3)
    throw new UserError(`${imgPath}: expected images as N x H x W, found ${img.dims.join('x')}`);
  return {
    kind: 'memory',
    images: img.data,
    labels: new Int32Array(img.dims[0]!).fill(UNLABELED),
    shape: [1, img.dims[1]!, img.dims[2]!],
  };
}

// Open an IDX folder (train-* and t10k-* files, optional classes.txt with one name per line) as in-memory splits;
// unlabeled when it has no train-labels file or when asked.
export function openIdx(dir: string, classNames?: string[], opts: { unlabeled?: boolean } = {}): OpenedSource {
  const labPath = find(dir, 'train-labels-idx1-ubyte');
  if (opts.unlabeled || !labPath) {
    const train = unlabeledSplit(dir, 'train')!;
    const val = unlabeledSplit(dir, 't10k');
    return {
      classes: [],
      unlabeled: true,
      train,
      ...(val ? { val } : {}),
      nativeShape: train.shape,
      description: `unlabeled IDX images in ${dir}${labPath ? ' (--unlabeled)' : ''}`,
    };
  }
  const maxLabel = readIdx(labPath).data.reduce((m, v) => Math.max(m, v), 0);
  const listed = existsSync(join(dir, 'classes.txt'))
    ? readFileSync(join(dir, 'classes.txt'), 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
    : undefined;
  const classes = classNames ?? listed ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (classes.length <= maxLabel)
    throw new UserError(
      `${labPath}: label ${maxLabel} has no class name (${join(dir, 'classes.txt')} lists ${classes.length})`,
    );
  const train = split(dir, 'train', classes.length)!;
  const val = split(dir, 't10k', classes.length);
  return { classes, train, ...(val ? { val } : {}), nativeShape: train.shape, description: `IDX files in ${dir}` };
}
