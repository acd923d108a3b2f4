import type { QuantizationSummary } from './types.js';

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(2)}%`);
const drop = (v: number | undefined, ref: number | undefined) =>
  v === undefined || ref === undefined ? '—' : `${(100 * (ref - v)).toFixed(2)}`;

// report.md's int8 comparison: fp32, PTQ int8 and QAT int8 top-1 side by side, with each int8's loss in points.
export function quantizationMarkdown(q: QuantizationSummary): string[] {
  const why =
    q.trigger === 'qat'
      ? 'asked for with --qat'
      : `run because PTQ int8 lost more than --max-int8-drop ${q.maxInt8Drop} points`;
  return [
    `## int8: post-training vs quantisation-aware (${q.model})`,
    '',
    '| | fp32 | PTQ int8 | QAT int8 |',
    '|---|---:|---:|---:|',
    `| Top-1 | ${pct(q.fp32)} | ${pct(q.ptq)} | ${pct(q.qat)} |`,
    `| points lost vs fp32 | | ${drop(q.ptq, q.fp32)} | ${drop(q.qat, q.fp32)} |`,
    '',
    `QAT: ${q.epochs} epoch${q.epochs === 1 ? '' : 's'} of fine-tuning from the fp32 student at lr ${Number(q.lr.toPrecision(6))}, fake-quantised ` +
      `as the int8 export computes and with the same distillation terms (${why}; run in ${q.run}). ` +
      'The QAT int8 model is written with exactly the scales it trained with.',
    '',
  ];
}

// The same comparison as one line for the terminal.
export function quantizationLine(q: QuantizationSummary): string {
  const ptq = `PTQ int8 ${pct(q.ptq)} (${drop(q.ptq, q.fp32)} pt lost)`;
  return `int8 (${q.model}): fp32 ${pct(q.fp32)}, ${ptq}, QAT int8 ${pct(q.qat)} (${drop(q.qat, q.fp32)} pt lost)`;
}
