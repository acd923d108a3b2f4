import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { renderPng, type PngOptions } from './plots.js';
import { accuracyLatencySpec } from './specs/accuracyLatency.js';
import { accuracySizeSpec } from './specs/accuracySize.js';
import { trainingCurvesSpec, trainingCurvePoints } from './specs/trainingCurves.js';
import { formatTable, markdownTable } from './table.js';
import type { QuantizationSummary, ReportRow, TrainingHistory } from './types.js';
import { quantizationLine, quantizationMarkdown } from './quantization.js';
import { validateRows } from './validate.js';

// File names inside --out; fixed so that scripts and report.md can point at them.
export const REPORT_FILES = {
  json: 'report.json',
  markdown: 'report.md',
  accuracySize: 'accuracy-size.png',
  accuracyLatency: 'accuracy-latency.png',
  trainingCurves: 'training-curves.png',
} as const;

export interface WriteReportOptions {
  // Heading of report.md.
  title?: string;
  // Per-epoch history of a distillation run: adds the training-curves plot.
  history?: TrainingHistory;
  // Extra fields for report.json (command, method, teacher path, dataset...), kept as given.
  meta?: Record<string, unknown>;
  // How latency was measured (runs, budget, threads), written under the table of report.md.
  latencyNote?: string;
  // What Top-1 measures: accuracy on labels (default), or agreement with the teacher (data without labels).
  metric?: 'accuracy' | 'teacher agreement';
  png?: PngOptions;
  // fp32, PTQ and QAT int8 of the student side by side, when compress fine-tuned quantisation-aware.
  quantization?: QuantizationSummary;
}

export interface WrittenReport {
  json: string;
  markdown: string;
  plots: Partial<Record<'accuracySize' | 'accuracyLatency' | 'trainingCurves', string>>;
  // The terminal table, for the command to print at the end.
  table: string;
}

// The training-curves PNG alone (distill writes it as the run goes, before there are exports to report).
export async function writeTrainingCurves(path: string, history: TrainingHistory, png?: PngOptions): Promise<string> {
  await renderPng(trainingCurvesSpec(history), path, png);
  return path;
}

// Everything --out gets at the end of distill/compress: report.json, report.md and the plots beside them.
export async function writeReport(
  outDir: string,
  rows: ReportRow[],
  opts: WriteReportOptions = {},
): Promise<WrittenReport> {
  validateRows(rows);
  const plots: WrittenReport['plots'] = {};
  // A trade-off plot needs an x value for at least one row (a report of unmeasured latencies has none).
  if (rows.some((r) => r.sizeBytes > 0)) {
    await renderPng(accuracySizeSpec(rows), join(outDir, REPORT_FILES.accuracySize), opts.png);
    plots.accuracySize = REPORT_FILES.accuracySize;
  }
  if (rows.some((r) => r.latencyMsBatch1 > 0)) {
    await renderPng(accuracyLatencySpec(rows), join(outDir, REPORT_FILES.accuracyLatency), opts.png);
    plots.accuracyLatency = REPORT_FILES.accuracyLatency;
  }
  if (opts.history) {
    const { acc, loss } = trainingCurvePoints(opts.history);
    if (acc.length || loss.length) {
      await writeTrainingCurves(join(outDir, REPORT_FILES.trainingCurves), opts.history, opts.png);
      plots.trainingCurves = REPORT_FILES.trainingCurves;
    }
  }

  const json = join(outDir, REPORT_FILES.json);
  writeFileAtomic(
    json,
    `${JSON.stringify({ ...opts.meta, createdAt: new Date().toISOString(), rows, plots }, null, 2)}\n`,
  );
  const markdown = join(outDir, REPORT_FILES.markdown);
  writeFileAtomic(
    markdown,
    reportMarkdown(rows, plots, opts.title ?? 'Compression report', opts.metric, opts.latencyNote, opts.quantization),
  );
  const table = formatTable(rows) + (opts.quantization ? `\n${quantizationLine(opts.quantization)}` : '');
  return { json, markdown, plots, table };
}

const CAPTIONS: Record<keyof WrittenReport['plots'], string> = {
  accuracySize: 'Accuracy vs model size',
  accuracyLatency: 'Accuracy vs latency (batch 1)',
  trainingCurves: 'Training curves',
};

function reportMarkdown(
  rows: ReportRow[],
  plots: WrittenReport['plots'],
  title: string,
  metric = 'accuracy',
  latencyNote?: string,
  quantization?: QuantizationSummary,
): string {
  const top1 =
    metric === 'accuracy'
      ? 'Top-1 is the accuracy on the evaluation split'
      : "Top-1 is the agreement with the teacher on the held-out images (the data has no labels): the fraction whose top class is the teacher's, so the teacher's own is 100%";
  const lines = [
    `# ${title}`,
    '',
    markdownTable(rows),
    '',
    `${top1}; latency is the median time of one forward pass of the whole batch${latencyNote ? ` (${latencyNote})` : ''}.`,
    '',
    ...(quantization ? quantizationMarkdown(quantization) : []),
  ];
  for (const [k, file] of Object.entries(plots) as [keyof WrittenReport['plots'], string][]) {
    lines.push(`## ${CAPTIONS[k]}`, '', `![${CAPTIONS[k]}](${file})`, '');
  }
  return lines.join('\n');
}
