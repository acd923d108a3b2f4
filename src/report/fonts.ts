import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// The plots' one font family, shipped as TrueType inside an npm package so that text renders (and is measured)
// the same on a fresh machine with no system fonts at all. resvg reads TTF/OTF but not WOFF, hence DejaVu.
export const FONT_FAMILY = 'DejaVu Sans';

export interface PlotFonts {
  regular: string;
  bold: string;
}

let located: PlotFonts | undefined;

// Paths of the regular and bold TTF files inside the dejavu-fonts-ttf package.
export function plotFontFiles(): PlotFonts {
  if (!located) {
    const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    located = { regular: join(dir, 'DejaVuSans.ttf'), bold: join(dir, 'DejaVuSans-Bold.ttf') };
  }
  return located;
}

// Horizontal advances of one TrueType face, read from its `cmap` and `hmtx` tables: enough to measure a line of
// text the way resvg will lay it out (less kerning, which only ever narrows it by a pixel or two).
export class FontMetrics {
  private readonly advance = new Map<number, number>();

  private constructor(
    private readonly glyphOf: (codePoint: number) => number,
    private readonly advances: Uint16Array,
    private readonly unitsPerEm: number,
  ) {}

  static fromFile(path: string): FontMetrics {
    const buf = readFileSync(path);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const tables = new Map<string, number>();
    const numTables = view.getUint16(4);
    for (let i = 0; i < numTables; i++) {
      const rec = 12 + 16 * i;
      tables.set(buf.toString('latin1', rec, rec + 4), view.getUint32(rec + 8));
    }
    const table = (tag: string): number => {
      const off = tables.get(tag);
      if (off === undefined) throw new Error(`font ${path} has no '${tag}' table`);
      return off;
    };
    const unitsPerEm = view.getUint16(table('head') + 18);
    const numberOfHMetrics = view.getUint16(table('hhea') + 34);
    const hmtx = table('hmtx');
    const advances = new Uint16Array(numberOfHMetrics);
    for (let g = 0; g < numberOfHMetrics; g++) advances[g] = view.getUint16(hmtx + 4 * g);
    return new FontMetrics(cmapLookup(view, table('cmap'), path), advances, unitsPerEm);
  }

  // Width in pixels of `text` at `fontSize` px.
  width(text: string, fontSize: number): number {
    let units = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      let a = this.advance.get(cp);
      if (a === undefined) {
        const g = this.glyphOf(cp);
        a = this.advances[Math.min(g, this.advances.length - 1)]!;
        this.advance.set(cp, a);
      }
      units += a;
    }
    return (units * fontSize) / this.unitsPerEm;
  }
}

// Code point -> glyph id from the Unicode subtable of `cmap` (format 12 for the full range, else format 4 for the BMP).
function cmapLookup(view: DataView, cmap: number, path: string): (cp: number) => number {
  const subtables: { platform: number; encoding: number; offset: number }[] = [];
  for (let i = 0; i < view.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    subtables.push({
      platform: view.getUint16(rec),
      encoding: view.getUint16(rec + 2),
      offset: cmap + view.getUint32(rec + 4),
    });
  }
  const format = (s: { offset: number }) => view.getUint16(s.offset);
  const unicode = (s: { platform: number; encoding: number }) =>
    s.platform === 0 || (s.platform === 3 && (s.encoding === 1 || s.encoding === 10));
  const f12 = subtables.find((s) => unicode(s) && format(s) === 12);
  if (f12) {
    const n = view.getUint32(f12.offset + 12);
    return (cp) => {
      for (let i = 0; i < n; i++) {
        const g = f12.offset + 16 + 12 * i;
        const start = view.getUint32(g);
        if (cp >= start && cp <= view.getUint32(g + 4)) return view.getUint32(g + 8) + cp - start;
      }
      return 0;
    };
  }
  const f4 = subtables.find((s) => unicode(s) && format(s) === 4);
  if (!f4) throw new Error(`font ${path} has no Unicode cmap (format 4 or 12)`);
  const segCount = view.getUint16(f4.offset + 6) / 2;
  const ends = f4.offset + 14;
  const starts = ends + 2 * segCount + 2;
  const deltas = starts + 2 * segCount;
  const rangeOffsets = deltas + 2 * segCount;
  return (cp) => {
    if (cp > 0xffff) return 0;
    for (let i = 0; i < segCount; i++) {
      if (view.getUint16(ends + 2 * i) < cp) continue;
      const start = view.getUint16(starts + 2 * i);
      if (cp < start) return 0;
      const delta = view.getInt16(deltas + 2 * i);
      const ro = view.getUint16(rangeOffsets + 2 * i);
      if (ro === 0) return (cp + delta) & 0xffff;
      const g = view.getUint16(rangeOffsets + 2 * i + ro + 2 * (cp - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
}

let shared: { regular: FontMetrics; bold: FontMetrics } | undefined;

// The regular and bold faces' metrics, read once.
export function plotFontMetrics(): { regular: FontMetrics; bold: FontMetrics } {
  if (!shared) {
    const files = plotFontFiles();
    shared = { regular: FontMetrics.fromFile(files.regular), bold: FontMetrics.fromFile(files.bold) };
  }
  return shared;
}

// Width in px of one line of plot text, as resvg will draw it.
export function textWidth(text: string, fontSize: number, bold = false): number {
  const m = plotFontMetrics();
  return (bold ? m.bold : m.regular).width(text, fontSize);
}
