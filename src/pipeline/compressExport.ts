import { join } from 'node:path';
import type { ModelData } from '../data/modelData.js';
import { exportModel, writeExport, type ExportOptions, type ExportResult, type Format } from '../export/index.js';
import { VerificationError } from '../export/verify.js';
import type { CliContext } from '../util/output.js';
import { shown } from './compressReport.js';

// compress's third stage: every trained network exported in every format, each verified before it is written.

// An export that failed its verification: left out of the report, named in it.
export interface SkippedExport {
  model: string;
  format: Format;
  reason: string;
}

// One written export, with the note the report shows beside it.
export interface WrittenExport {
  model: string;
  format: Format;
  file: string;
  notes: string;
}

// Every trained network in every format, each verified before it is written; one that fails its verification is
// skipped with a warning (the run's other exports and the report are still worth having).
export async function exportAll(
  trained: [string, string][],
  formats: Format[],
  o: Omit<ExportOptions, 'format'>,
  outDir: string,
  c: CliContext,
): Promise<{ exports: WrittenExport[]; skipped: SkippedExport[] }> {
  const exports: WrittenExport[] = [];
  const skipped: SkippedExport[] = [];
  for (const [name, path] of trained) {
    for (const format of formats) {
      const file = join(outDir, `${name}.${format}.onnx`);
      try {
        const r = await exportModel(path, { ...o, format }, c);
        writeExport(r, file);
        exports.push({ model: name, format, file, notes: exportNotes(r) });
        c.log(`  ${shown(file, outDir)}: ${exportNotes(r)}`);
      } catch (err: unknown) {
        if (!(err instanceof VerificationError)) throw err;
        skipped.push({ model: name, format, reason: err.message });
        c.log(`warning: ${name} ${format} not exported: ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
      }
    }
  }
  return { exports, skipped };
}

function exportNotes(r: ExportResult): string {
  const v = r.verification;
  const cal = r.calibration;
  const how = cal
    ? 'dynamic' in cal
      ? 'dynamic int8; '
      : `calibrated (${cal.calibrator}) on ${cal.images} training images; `
    : '';
  return `${how}top-1 agreement with ${r.reference} ${(100 * v.node.top1Agreement).toFixed(1)}% (node), ${(100 * v.web.top1Agreement).toFixed(1)}% (web) on ${v.images} images`;
}

// What the export stage hands to evaluation: the data as opened for the trained networks, and what was written.
export interface Exported {
  data: string;
  split: { seed: number; valSplit?: number; unlabeled?: boolean };
  opened: ModelData;
  trained: [string, string][];
  exports: WrittenExport[];
  skipped: SkippedExport[];
  // The options every export of the run was written with (compress's QAT int8 export reuses them).
  options: Omit<ExportOptions, 'format'>;
}
