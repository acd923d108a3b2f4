import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../util/fs.js';
import { FONT_FAMILY, plotFontFiles, textWidth } from './fonts.js';

// Vega-Lite spec -> Vega -> SVG (headless View, no canvas) -> PNG (resvg, with the shipped font): no browser,
// no system fonts, no native canvas build.

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}
interface VegaTextMetrics {
  width: (item: TextItem, text: unknown) => number;
}

let measuring = false;

// Vega lays text out with a crude 0.8 em-per-character guess when it has no canvas, which leaves gaps and
// overlaps (axis titles far from their labels, legends too wide). Measuring with the real font's advances, as
// vl-convert does, makes the layout match what resvg draws.
function useFontMetrics(): void {
  if (measuring) return;
  measuring = true;
  const textMetrics = (vega as unknown as { textMetrics: VegaTextMetrics }).textMetrics;
  textMetrics.width = (item, text) => {
    const s = text == null ? '' : String(text).trim();
    const w = item.fontWeight;
    const bold =
      w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && +w >= 600);
    const width = textWidth(s, item.fontSize ?? 11, bold);
    // A label with a limit is drawn truncated to it; its box is then no wider than the limit.
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
  };
}

// The Vega-Lite spec rendered to SVG markup (text as <text> in FONT_FAMILY).
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  useFontMetrics();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  // Pixels per SVG unit; 2 keeps text crisp on high-density screens and in zoomed-in Markdown viewers.
  scale?: number;
}

export interface RenderedPng {
  png: Buffer;
  width: number;
  height: number;
}

// SVG markup -> PNG bytes with only the shipped font loaded, so the output is the same on every machine.
export function svgToPng(svg: string, o: PngOptions = {}): RenderedPng {
  const files = plotFontFiles();
  const resvg = new Resvg(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles: [files.regular, files.bold],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
    fitTo: { mode: 'zoom', value: o.scale ?? 2 },
    background: 'white',
    logLevel: 'error',
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}

// Render a Vega-Lite spec to a PNG file, written atomically; returns its pixel size.
export async function renderPng(
  spec: TopLevelSpec,
  path: string,
  o: PngOptions = {},
): Promise<{ path: string; width: number; height: number }> {
  const { png, width, height } = svgToPng(await renderSvg(spec), o);
  writeFileAtomic(path, png);
  return { path, width, height };
}
