// The embedded subset's test images are Fashion-MNIST test images, none of them an image the shipped teacher trained
// on (it trained on the 60,000 training images of Debian's dataset-fashion-mnist: models/fashion-mnist-teacher/README.md).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';

const FULL = '/usr/share/datasets/fashion-mnist';
const subset = new URL('../../models/fashion-mnist-subset', import.meta.url).pathname;
const hashes = (s: MemoryImages) => {
  const px = s.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: s.labels.length }, (_, i) =>
    createHash('sha1')
      .update(s.images.subarray(i * px, (i + 1) * px))
      .digest('hex'),
  );
};

test(
  "the subset's test images are the full test split's first 200 per class and none is a training image",
  { skip: !existsSync(FULL) && 'dataset-fashion-mnist is not installed' },
  () => {
    const sub = openIdx(subset);
    const full = openIdx(FULL);
    const subVal = sub.val as MemoryImages;
    const fullVal = full.val as MemoryImages;
    const want: number[] = [];
    const seen = new Array<number>(10).fill(0);
    for (let i = 0; i < fullVal.labels.length; i++) if (seen[fullVal.labels[i]!]!++ < 200) want.push(i);
    const subH = hashes(subVal);
    const valH = hashes(fullVal);
    assert.equal(subH.length, 2000);
    assert.deepEqual(
      subH,
      want.map((i) => valH[i]!),
    );
    const train = new Set(hashes(full.train as MemoryImages));
    const shared = subH.filter((h) => train.has(h)).length;
    assert.equal(shared, 0, `${shared} subset test images also appear, pixel for pixel, among the training images`);
  },
);
