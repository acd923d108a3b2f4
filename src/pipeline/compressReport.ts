import { isAbsolute, relative } from 'node:path';
import type { EvalReport } from '../eval/index.js';
import type { Model } from '../ir/model.js';
import type { ReportFormat, ReportRole, ReportRow } from '../report/index.js';

// compress's report: one row per evaluated model (teacher, each export), and how latency was measured.

// A path as the report shows it: relative to the run folder when inside it.
export function shown(path: string, outDir: string): string {
  const rel = relative(outDir, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

// A report row from a model's evaluation.
export function row(
  model: string,
  role: ReportRole,
  format: ReportFormat,
  file: string,
  outDir: string,
  e: EvalReport,
  notes?: string,
): ReportRow {
  const at = (b: number) => e.latency.find((l) => l.batch === b)?.p50 ?? 0;
  return {
    model,
    role,
    format,
    file: shown(file, outDir),
    accuracy: e.accuracy.top1,
    sizeBytes: e.sizeBytes,
    params: e.parameters,
    macs: e.macs,
    latencyMsBatch1: at(1),
    latencyMsBatch32: at(32),
    ...(e.classes.length > 5 ? { top5: e.accuracy.top5 } : {}),
    ...(notes ? { notes } : {}),
  };
}

// The format a given teacher file is stored in: int8 when it has quantised weights, fp16 when its weights are half.
export function storedFormat(m: Model): ReportFormat {
  if (m.graph.nodes.some((n) => n.opType === 'DequantizeLinear' || n.opType.startsWith('QLinear'))) return 'int8';
  return m.graph.initializers.some((v) => v.type?.dtype === 'float16') ? 'fp16' : 'fp32';
}

// How latency was measured, per report row: the timed runs made at each batch size and whether the time budget cut them.
export function latencyMeta(teacher: EvalReport, rows: ReportRow[], evals: EvalReport[]) {
  const first = teacher.latency[0];
  return {
    engine: teacher.runtime.engine,
    version: teacher.runtime.version,
    threads: teacher.runtime.threads,
    statistic: 'p50',
    plannedRuns: first?.plannedRuns ?? 0,
    budgetSeconds: first?.budgetSeconds ?? 0,
    runs: Object.fromEntries(
      evals.map((e, i) => [
        `${rows[i]!.model} ${rows[i]!.format}`,
        Object.fromEntries(e.latency.map((l) => [`batch${l.batch}`, l.runs])),
      ]),
    ),
  };
}

// report.md's account of the latency measurement: engine, threads, the run budget and where time cut it short.
export function latencyNote(evals: EvalReport[]): string {
  const first = evals[0]!;
  const l = first.latency[0];
  const cut = evals.filter((e) => e.latency.some((r) => r.stoppedBy === 'time')).map((e) => e.model.split('/').pop());
  return `onnxruntime-node ${first.runtime.version}, ${first.runtime.threads} thread; up to ${l?.plannedRuns ?? 0} timed runs or ${l?.budgetSeconds ?? 0} s per model and batch size${cut.length ? `; the time budget ended the timing of ${cut.join(', ')}` : ''}`;
}
