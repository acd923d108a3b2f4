// Feature methods on teachers whose taps need a view or are token maps, through main(): a channels-last teacher's
// stage maps reach AT through the transpose added in the tap; a ViT teacher distils by SP on its last block's token
// map; methods defined only on spatial maps refuse a transformer with a message saying why.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-taps-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const teacher = (f: string) => join(FIXTURES, 'taps', f);

// 80 RGB 32x32 images in ten classes (the fixtures' class count): a hue per class, with noise.
before(async () => {
  for (let c = 0; c < 10; c++) {
    mkdirSync(join(images, `c${c}`), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const px = Buffer.alloc(32 * 32 * 3);
      for (let p = 0; p < px.length; p++)
        px[p] = 100 + 80 * Math.sin(c + (p % 3) * 2.1) + 30 * Math.sin((i + 1) * (p + 3) * 0.77);
      await sharp(px, { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toFile(join(images, `c${c}`, `${i}.png`));
    }
  }
});

const common = [
  '--data',
  images,
  '--epochs',
  '1',
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--val-split',
  '0.25',
  '--json',
];
const history = (out: string) =>
  (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { history: { terms: Record<string, number> }[] }).history;

test('AT from a channels-last teacher reads its stage maps through the transpose in the tap', async () => {
  const out = join(root, 'at-nhwc');
  const r = await cli([
    'distill',
    '--teacher',
    teacher('nhwc.onnx'),
    '--student',
    'zoo:resnet8',
    '--method',
    'at',
    ...common,
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const terms = history(out)[0]!.terms;
  const at = Object.entries(terms).filter(([k]) => k.startsWith('at.'));
  assert.ok(at.length >= 1 && at.every(([, v]) => Number.isFinite(v) && v > 0), JSON.stringify(terms));
});

test("SP from a ViT teacher pairs the student's last stage with the teacher's last block (token map)", async () => {
  const out = join(root, 'sp-vit');
  const r = await cli([
    'distill',
    '--teacher',
    teacher('vit.onnx'),
    '--student',
    'zoo:resnet8',
    '--method',
    'sp',
    ...common,
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sp\(student\.f\d ← teacher\.b2/);
  assert.ok(Number.isFinite(history(out)[0]!.terms.sp));
});

test('AT and FitNets refuse a transformer teacher, saying its blocks are token maps', async () => {
  for (const method of ['at', 'fitnet']) {
    const r = await cli([
      'distill',
      '--teacher',
      teacher('vit.onnx'),
      '--student',
      'zoo:resnet8',
      '--method',
      method,
      ...common,
      '--out',
      join(root, method),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${method} needs 4-D stage taps on both networks: 'teacher' is a transformer: .* blocks b1\\.\\.b2 are token maps \\[N, T, D\\]`,
      ),
    );
  }
});
