import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { FONT_FAMILY, textWidth } from '../../src/report/fonts.js';
import { renderPng, renderSvg, svgToPng } from '../../src/report/plots.js';
import { accuracyLatencySpec } from '../../src/report/specs/accuracyLatency.js';
import { accuracySizeSpec } from '../../src/report/specs/accuracySize.js';
import { placeLabels } from '../../src/report/specs/labels.js';
import { trainingCurvesSpec } from '../../src/report/specs/trainingCurves.js';
import type { TrainingHistory } from '../../src/report/types.js';
import { sampleHistory, sampleRows } from './sample.js';

const DARK = 110; // a grey level below which a pixel counts as ink (text is #000-#555, grid lines #e6e6e6)

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}
async function raw(png: Buffer): Promise<Raw> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
function darkPixels(img: Raw, box = { x0: 0, y0: 0, x1: img.width, y1: img.height }): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++)
    for (let x = box.x0; x < box.x1; x++) if (img.data[(y * img.width + x) * img.channels]! < DARK) n++;
  return n;
}

// Render, then check what a reader needs: the PNG decodes at the SVG's size times the scale, is not blank, and has
// ink in its title strip (so text rendered with the shipped font, as resvg is given no system fonts).
async function checkPlot(spec: TopLevelSpec): Promise<Raw> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-distill-report-'));
  const svg = await renderSvg(spec);
  const [, w, h] = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg)!;
  const out = await renderPng(spec, join(dir, 'plot.png'));
  const png = readFileSync(out.path);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, out.width);
  assert.equal(meta.height, out.height);
  assert.equal(out.width, Math.ceil(2 * Number(w)));
  assert.equal(out.height, Math.ceil(2 * Number(h)));
  const stats = await sharp(png).stats();
  assert.ok(stats.channels[0]!.stdev > 0, 'the image is blank');
  const img = await raw(png);
  assert.ok(darkPixels(img, { x0: 0, y0: 0, x1: Math.min(img.width, 700), y1: 80 }) > 500, 'no title text drawn');
  return img;
}

describe('plot rendering', () => {
  test('the shipped font renders and its parsed advances match what resvg draws', async () => {
    const text = 'Accuracy vs model size';
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="80"><text x="10" y="55" font-family="${FONT_FAMILY}" font-size="40">${text}</text></svg>`;
    const { png } = svgToPng(svg, { scale: 1 });
    const { info } = await sharp(png).trim({ threshold: 50 }).toBuffer({ resolveWithObject: true });
    const advance = textWidth(text, 40);
    // Ink is narrower than the advance by the side bearings of the first and last glyphs (a few px at 40 px).
    assert.ok(
      info.width > advance - 12 && info.width <= advance + 2,
      `ink ${info.width} px vs advance ${advance.toFixed(1)} px`,
    );
    assert.ok(textWidth(text, 40, true) > advance, 'bold metrics are wider');
  });

  test('accuracy vs size and vs latency render with their point labels', async () => {
    for (const make of [accuracySizeSpec, accuracyLatencySpec]) {
      const labelled = await checkPlot(make(sampleRows()));
      const bare = await raw(svgToPng(await renderSvg(make(sampleRows(), { labels: false }))).png);
      assert.equal(bare.width, labelled.width);
      // Eleven labels of ~12 characters each leave thousands of inked pixels at 2x.
      assert.ok(darkPixels(labelled) - darkPixels(bare) > 3000, 'the point labels are missing');
    }
  });

  test('a single row and rows with unmeasured latency still plot', async () => {
    const [teacher] = sampleRows();
    await checkPlot(accuracySizeSpec([teacher!]));
    const rows = sampleRows().map((r, i) => (i % 2 ? { ...r, latencyMsBatch1: 0 } : r));
    await checkPlot(accuracyLatencySpec(rows));
    assert.throws(
      () => accuracyLatencySpec(rows.map((r) => ({ ...r, latencyMsBatch1: 0 }))),
      /no row has a positive finite value/,
    );
  });

  test('training curves: two panels with legends', async () => {
    const img = await checkPlot(trainingCurvesSpec(sampleHistory()));
    assert.ok(img.width > 1.5 * img.height, 'two panels side by side');
  });

  test('training curves survive one epoch, NaN and missing values, a single network, no terms', async () => {
    const cases: Record<string, TrainingHistory> = {
      oneEpoch: sampleHistory(1),
      nanAndMissing: sampleHistory(6).map((e, i) => ({
        ...e,
        networks: { resnet8: { valAcc: i === 2 ? Number.NaN : e.networks.resnet8!.valAcc }, resnet20: {} },
        terms: i === 3 ? { 'ce(resnet8)': Number.POSITIVE_INFINITY } : e.terms,
        ensembleValAcc: undefined,
      })),
      singleNetwork: [1, 2, 3].map((epoch) => ({
        epoch,
        networks: { student: { valAcc: 0.3 * epoch, loss: 2 / epoch } },
        terms: {},
      })),
      lossOnly: [1, 2].map((epoch) => ({ epoch, networks: {}, terms: { ce: 1 / epoch } })),
      manyEpochs: sampleHistory(200),
    };
    for (const [name, history] of Object.entries(cases)) {
      await assert.doesNotReject(checkPlot(trainingCurvesSpec(history)), name);
    }
    assert.throws(() => trainingCurvesSpec([]), /no finite accuracy or loss/);
    assert.throws(
      () => trainingCurvesSpec([{ epoch: 1, networks: { a: { valAcc: Number.NaN } }, terms: {} }]),
      /no finite/,
    );
  });
});

describe('label placement', () => {
  test('labels of crowded points do not overlap each other or the other points', () => {
    const points = [0, 1, 2, 3].map((i) => ({ x: 100 + 12 * i, y: 100 + 3 * i, radius: 6, width: 90, height: 14 }));
    const placed = placeLabels(points, { width: 400, height: 300 });
    const boxes = placed.map((p, i) => ({
      x0: p.left,
      y0: p.middle - 7,
      x1: p.left + points[i]!.width,
      y1: p.middle + 7,
    }));
    const hit = (a: (typeof boxes)[0], b: (typeof boxes)[0]) =>
      a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = 0; j < boxes.length; j++) {
        if (i !== j) assert.ok(!hit(boxes[i]!, boxes[j]!), `label ${i} overlaps label ${j}`);
        const p = points[j]!;
        if (i !== j)
          assert.ok(
            !hit(boxes[i]!, { x0: p.x - 6, y0: p.y - 6, x1: p.x + 6, y1: p.y + 6 }),
            `label ${i} covers point ${j}`,
          );
      }
    }
  });

  test('a point at the right edge gets its label on the left, inside the plot', () => {
    const [at] = placeLabels([{ x: 395, y: 150, radius: 6, width: 80, height: 14 }], { width: 400, height: 300 });
    assert.ok(at!.left + 80 <= 400 && at!.left >= 0);
  });
});
