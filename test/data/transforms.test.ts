// Pixel-exact checks of decoding and per-batch transforms on tiny hand-made images.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, toCHW } from '../../src/data/decode.js';
import { Rng } from '../../src/data/random.js';
import { computeStats, writeNormalized } from '../../src/data/transforms.js';

const dir = mkdtempSync(join(tmpdir(), 'od-tf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ramp = Uint8Array.from({ length: 16 }, (_, i) => i * 10); // 4x4, value = 10 * (4y + x)
const identity = { mean: [0], std: [1] };
// A fake generator with fixed draws, to pin the random crop offsets and the flip.
const fixed = (ints: number[], nexts: number[]) => ({ int: () => ints.shift()!, next: () => nexts.shift()! }) as unknown as Rng;

test('normalisation: (x/255 - mean) / std per channel', () => {
  const out = new Float32Array(16);
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, { mean: [0.5], std: [0.25] });
  assert.ok(Math.abs(out[5]! - (50 / 255 - 0.5) / 0.25) < 1e-6);
});

test('horizontal flip mirrors each row', () => {
  const out = new Float32Array(16);
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, identity, { padCrop: 0, flip: true }, fixed([], [0.1]));
  assert.deepEqual(Array.from(out.slice(0, 4), (v) => Math.round(v * 255)), [30, 20, 10, 0]);
});

test('random crop with padding shifts the image and fills with zero pixels', () => {
  const out = new Float32Array(16);
  // int(2p+1) - p with p = 2: draws 3 and 1 give dy = +1, dx = -1.
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, identity, { padCrop: 2, flip: false }, fixed([3, 1], [0.9]));
  const px = Array.from(out, (v) => Math.round(v * 255) + 0); // +0 turns -0 into 0
  assert.deepEqual(px.slice(0, 4), [0, 40, 50, 60]); // row 0 shows source row 1, shifted right by one
  assert.deepEqual(px.slice(12, 16), [0, 0, 0, 0]); // row 3 comes from source row 4: padding
});

test('channel conversion: RGB to gray by luma, gray to RGB by copy', () => {
  assert.deepEqual(Array.from(toCHW(Uint8Array.of(255, 0, 0), 3, 1, 1, 1)), [76]);
  assert.deepEqual(Array.from(toCHW(Uint8Array.of(7, 9), 1, 3, 1, 2)), [7, 9, 7, 9, 7, 9]);
});

test('a grayscale PNG fed to a 3-channel model gives three equal planes', async () => {
  const p = join(dir, 'gray.png');
  await sharp(Buffer.from(ramp), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(p);
  const img = await decodeImage(p, 3, 4, 4);
  assert.deepEqual(Array.from(img.slice(0, 16)), Array.from(ramp));
  assert.deepEqual(Array.from(img.slice(16, 32)), Array.from(ramp));
  assert.deepEqual(Array.from(img.slice(32, 48)), Array.from(ramp));
});

test('an RGBA PNG fed to a 1-channel model is flattened on black, then converted to gray', async () => {
  const p = join(dir, 'rgba.png');
  // Two pixels: opaque white, and fully transparent white (which must become black).
  await sharp(Buffer.from([255, 255, 255, 255, 255, 255, 255, 0]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(p);
  const img = await decodeImage(p, 1, 1, 2);
  assert.deepEqual(Array.from(img), [255, 0]);
});

test('EXIF orientation is applied before resizing', async () => {
  const p = join(dir, 'rot.jpg');
  // A 4x2 image (wide) tagged "rotate 90°" decodes as tall: the left half (black) ends up on top.
  const wide = Buffer.from(Array.from({ length: 8 }, (_, i) => (i % 4 < 2 ? 0 : 255)));
  await sharp(wide, { raw: { width: 4, height: 2, channels: 1 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(p);
  const img = await decodeImage(p, 1, 4, 2);
  assert.ok(img[0]! < 60 && img[7]! > 200, `got ${Array.from(img)}`);
});

test('statistics computed from the data', () => {
  const s = computeStats(Uint8Array.of(0, 255, 0, 255), 1, 1, 4);
  assert.ok(Math.abs(s.mean[0]! - 0.5) < 1e-9 && Math.abs(s.std[0]! - 0.5) < 1e-9);
});
