// Pixel-exact checks of decoding and per-batch transforms on tiny hand-made images.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { cropBox, decodeImage, randomRegion } from '../../src/data/decode.js';
import { DataRng } from '../../src/data/random.js';
import { bilinearTaps, resampleInto, type Box, type RawImage } from '../../src/data/resample.js';
import { affine, computeStats, writeNormalized } from '../../src/data/transforms.js';

const dir = mkdtempSync(join(tmpdir(), 'od-tf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ramp = Uint8Array.from({ length: 16 }, (_, i) => i * 10); // 4x4, value = 10 * (4y + x)
const identity = { mean: [0], std: [1] };
// A fake generator with fixed draws, to pin the random crop offsets and the flip.
const fixed = (ints: number[], nexts: number[]) =>
  ({ int: () => ints.shift()!, next: () => nexts.shift()! }) as unknown as DataRng;

test('normalisation: (x/255 - mean) / std per channel', () => {
  const out = new Float32Array(16);
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, { mean: [0.5], std: [0.25] });
  assert.ok(Math.abs(out[5]! - (50 / 255 - 0.5) / 0.25) < 1e-6);
});

test('horizontal flip mirrors each row', () => {
  const out = new Float32Array(16);
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, identity, { padCrop: 0, flip: true }, fixed([], [0.1]));
  assert.deepEqual(
    Array.from(out.slice(0, 4), (v) => Math.round(v * 255)),
    [30, 20, 10, 0],
  );
});

test('random crop with padding shifts the image and fills with zero pixels', () => {
  const out = new Float32Array(16);
  // int(2p+1) - p with p = 2: draws 3 and 1 give dy = +1, dx = -1.
  writeNormalized(ramp, 0, out, 0, 1, 4, 4, identity, { padCrop: 2, flip: false }, fixed([3, 1], [0.9]));
  const px = Array.from(out, (v) => Math.round(v * 255) + 0); // +0 turns -0 into 0
  assert.deepEqual(px.slice(0, 4), [0, 40, 50, 60]); // row 0 shows source row 1, shifted right by one
  assert.deepEqual(px.slice(12, 16), [0, 0, 0, 0]); // row 3 comes from source row 4: padding
});

// Resample a raw image to a planar float output with no normalisation.
function resample(src: RawImage, box: Box, c: number, h: number, w: number, flip = false): number[] {
  const out = new Float32Array(c * h * w);
  resampleInto(
    src,
    box,
    { channels: c, height: h, width: w, scale: new Array(c).fill(1), shift: new Array(c).fill(0), flip },
    out,
    0,
  );
  return Array.from(out, (v) => Math.round(v * 1e4) / 1e4);
}
const row = (values: number[], channels = 1): RawImage => ({
  data: Uint8Array.from(values),
  width: values.length / channels,
  height: 1,
  channels,
});

test('channel conversion: RGB to gray by ITU-R 601 luma, gray to RGB by copy', () => {
  const whole = { left: 0, top: 0, width: 1, height: 1 };
  assert.deepEqual(resample(row([255, 0, 0], 3), whole, 1, 1, 1), [76.245]); // 0.299 * 255
  assert.deepEqual(resample(row([7, 9]), { left: 0, top: 0, width: 2, height: 1 }, 3, 1, 2), [7, 9, 7, 9, 7, 9]);
});

test('bilinear upscale 2 -> 4 samples at pixel centres (half-pixel offsets)', () => {
  // Output centres map to 0.25, 0.75, 1.25, 1.75: edge pixels clamp, inner ones mix 3:1 and 1:3.
  assert.deepEqual(resample(row([0, 100]), { left: 0, top: 0, width: 2, height: 1 }, 1, 1, 4), [0, 25, 75, 100]);
});

test('bilinear downscale 4 -> 2 widens the triangle filter (antialias), as PIL and torchvision', () => {
  // Scale 2: support 2 around centres 1 and 3; weights 0.75, 0.75, 0.25 normalised to 3/7, 3/7, 1/7.
  const taps = bilinearTaps(4, 0, 4, 2);
  assert.deepEqual(Array.from(taps.start), [0, 1]);
  assert.deepEqual(resample(row([0, 10, 20, 30]), { left: 0, top: 0, width: 4, height: 1 }, 1, 1, 2), [
    Math.round((50 / 7) * 1e4) / 1e4,
    Math.round((160 / 7) * 1e4) / 1e4,
  ]);
});

test('resampling matches torch antialiased bilinear interpolate on crops (up, down and mixed scales)', () => {
  const fx = JSON.parse(readFileSync(new URL('../fixtures/resample_torch.json', import.meta.url), 'utf8')) as {
    image: { shape: number[]; values: number[] };
    cases: {
      box: { top: number; left: number; height: number; width: number };
      out: [number, number];
      expected: { values: number[] };
    }[];
  };
  const [c, h, w] = fx.image.shape as [number, number, number];
  // The fixture is CHW; the resampler reads interleaved HWC, as sharp decodes.
  const hwc = new Uint8Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) hwc[p * c + ch] = fx.image.values[ch * h * w + p]!;
  for (const k of fx.cases) {
    const got = resample(
      { data: hwc, width: w, height: h, channels: c },
      { ...k.box, cut: true },
      c,
      k.out[0],
      k.out[1],
    );
    const worst = Math.max(...got.map((v, i) => Math.abs(v - k.expected.values[i]!)));
    assert.ok(worst < 2e-3, `box ${JSON.stringify(k.box)} -> ${k.out}: max |diff| ${worst}`);
  }
});

test('horizontal flip mirrors the resampled output', () => {
  assert.deepEqual(resample(row([0, 100]), { left: 0, top: 0, width: 2, height: 1 }, 1, 1, 4, true), [100, 75, 25, 0]);
});

test('normalisation is folded into the resampler: (x/255 - mean) / std', () => {
  const { scale, shift } = affine({ mean: [0.5], std: [0.25] });
  const out = new Float32Array(1);
  resampleInto(
    row([51]),
    { left: 0, top: 0, width: 1, height: 1 },
    { channels: 1, height: 1, width: 1, scale, shift, flip: false },
    out,
    0,
  );
  assert.ok(Math.abs(out[0]! - (51 / 255 - 0.5) / 0.25) < 1e-6);
});

test('resize shorter side + centre crop: the box is centred and keeps `fraction` of the shorter side', () => {
  // 8x4 image to 2x2: the shorter side (4) fits, so a 4x4 box in the middle; fraction 0.5 keeps the middle 2x2.
  assert.deepEqual(cropBox(8, 4, 2, 2, { kind: 'center', fraction: 1 }), { left: 2, top: 0, width: 4, height: 4 });
  assert.deepEqual(cropBox(8, 4, 2, 2, { kind: 'center', fraction: 0.5 }), { left: 3, top: 1, width: 2, height: 2 });
  // 256 -> 224 at 0.875 on a 320x256 image: resize to 256 on the short side (here scale 1), crop the central 224x224.
  const b = cropBox(320, 256, 224, 224, { kind: 'center', fraction: 0.875 });
  assert.deepEqual([b.left, b.top, b.width, b.height], [48, 16, 224, 224]);
  // The pixels of a 1:1 box come through unchanged: the centre 2x2 of an 8x4 ramp.
  const ramp8 = { data: Uint8Array.from({ length: 32 }, (_, i) => i), width: 8, height: 4, channels: 1 };
  assert.deepEqual(resample(ramp8, cropBox(8, 4, 2, 2, { kind: 'center', fraction: 0.5 }), 1, 2, 2), [11, 12, 19, 20]);
});

test('random-resized crop draws area and log-aspect as torchvision, then falls back to the centre', () => {
  // Draws: area fraction 0.08 + 0.5 * 0.92 = 0.54 of 100x100, aspect exp(0.5 * (ln 3/4 + ln 4/3)) = 1 -> 73x73,
  // then offsets int(28) draws.
  const rng = fixed([5, 7], [0.5, 0.5]);
  assert.deepEqual(randomRegion(100, 100, { kind: 'random-resized', rng, scale: [0.08, 1], ratio: [3 / 4, 4 / 3] }), {
    left: 5,
    top: 7,
    width: 73,
    height: 73,
    cut: true,
  });
  // A 100x10 strip never fits a crop of the drawn shape: 10 tries, then the whole height at the widest allowed ratio.
  const never = fixed([], new Array(20).fill(0.99));
  assert.deepEqual(
    randomRegion(100, 10, { kind: 'random-resized', rng: never, scale: [0.9, 1], ratio: [3 / 4, 4 / 3] }),
    { left: 43, top: 0, width: 13, height: 10, cut: true },
  );
});

test('a grayscale PNG fed to a 3-channel model gives three equal planes', async () => {
  const p = join(dir, 'gray.png');
  await sharp(Buffer.from(ramp), { raw: { width: 4, height: 4, channels: 1 } })
    .png()
    .toFile(p);
  const img = await decodeImage(p, 3, 4, 4);
  assert.deepEqual(Array.from(img.slice(0, 16)), Array.from(ramp));
  assert.deepEqual(Array.from(img.slice(16, 32)), Array.from(ramp));
  assert.deepEqual(Array.from(img.slice(32, 48)), Array.from(ramp));
});

test('an RGBA PNG fed to a 1-channel model is flattened on black, then converted to gray', async () => {
  const p = join(dir, 'rgba.png');
  // Two pixels: opaque white, and fully transparent white (which must become black).
  await sharp(Buffer.from([255, 255, 255, 255, 255, 255, 255, 0]), { raw: { width: 2, height: 1, channels: 4 } })
    .png()
    .toFile(p);
  const img = await decodeImage(p, 1, 1, 2);
  assert.deepEqual(Array.from(img), [255, 0]);
});

test('EXIF orientation is applied before resizing', async () => {
  const p = join(dir, 'rot.jpg');
  // A 4x2 image (wide) tagged "rotate 90°" decodes as tall: the left half (black) ends up on top.
  const wide = Buffer.from(Array.from({ length: 8 }, (_, i) => (i % 4 < 2 ? 0 : 255)));
  await sharp(wide, { raw: { width: 4, height: 2, channels: 1 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toFile(p);
  const img = await decodeImage(p, 1, 4, 2);
  assert.ok(img[0]! < 60 && img[7]! > 200, `got ${Array.from(img)}`);
});

test('statistics computed from the data', () => {
  const s = computeStats(Uint8Array.of(0, 255, 0, 255), 1, 1, 4);
  assert.ok(Math.abs(s.mean[0]! - 0.5) < 1e-9 && Math.abs(s.std[0]! - 0.5) < 1e-9);
});
