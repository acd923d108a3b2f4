import { openRunner } from '../runtime/inference.js';
import type { DType } from '../ir/dtype.js';

// Latency of one batch size: percentiles over timed runs after warm-up, in milliseconds.
export interface LatencyReport {
  batch: number;
  threads: number;
  // Timed runs actually made: `plannedRuns`, or fewer when the time budget ran out first.
  runs: number;
  plannedRuns: number;
  // The time budget of the timed runs, in seconds, and what ended the timing.
  budgetSeconds: number;
  stoppedBy: 'runs' | 'time';
  p50: number;
  p95: number;
  min: number;
  max: number;
}

// What to time: `runs` timed runs after `warmup` untimed ones, both cut short by `seconds` (at least `minRuns` timed).
export interface LatencyOptions {
  batch: number;
  threads: number;
  runs?: number;
  warmup?: number;
  // Budget for the timed runs of this batch size; the warm-up gets a quarter of it on top.
  seconds?: number;
  minRuns?: number;
  inputType?: DType;
  // The onnxruntime-node device entry to time on (default the CPU).
  device?: string;
  // Called after each timed run (progress display).
  onRun?: (done: number, planned: number) => void;
}

// Defaults: 30 timed runs after 5 warm-up runs, but never more than 10 s of timed runs per batch size, so the latency
// of a large teacher on a small CPU cannot dominate an evaluation.
export const LATENCY_DEFAULTS = { runs: 30, warmup: 5, seconds: 10, minRuns: 3 } as const;

// The q-quantile of sorted values (nearest rank).
export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

// Time `fn` up to `runs` times or until `budgetMs` has passed, whichever comes first, but at least `minRuns` times.
export async function timedRuns(
  fn: () => Promise<unknown>,
  runs: number,
  budgetMs: number,
  minRuns: number,
  onRun?: (done: number) => void,
): Promise<number[]> {
  const times: number[] = [];
  const start = now();
  while (times.length < runs && (times.length < minRuns || now() - start < budgetMs)) {
    const t0 = now();
    await fn();
    times.push(now() - t0);
    onRun?.(times.length);
  }
  return times;
}

// Time a model in onnxruntime-node on this thread at a batch size: warm-up runs, then timed ones on the same input
// (random normal-ish pixels; a CNN's cost does not depend on the values), bounded by run count and by time.
export async function measureLatency(
  bytes: Uint8Array,
  input: [number, number, number],
  o: LatencyOptions,
): Promise<LatencyReport> {
  const runner = await openRunner('node', bytes, {
    threads: o.threads,
    ...(o.inputType ? { inputType: o.inputType } : {}),
    ...(o.device ? { device: o.device } : {}),
  });
  try {
    const dims = [o.batch, ...input];
    const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 1.5;
    const run = () => runner.run(x, dims);
    const planned = o.runs ?? LATENCY_DEFAULTS.runs;
    const seconds = o.seconds ?? LATENCY_DEFAULTS.seconds;
    const minRuns = Math.min(planned, o.minRuns ?? LATENCY_DEFAULTS.minRuns);
    await timedRuns(run, o.warmup ?? LATENCY_DEFAULTS.warmup, (seconds * 1000) / 4, 1);
    const times = await timedRuns(run, planned, seconds * 1000, minRuns, (done) => o.onRun?.(done, planned));
    times.sort((a, b) => a - b);
    return {
      batch: o.batch,
      threads: o.threads,
      runs: times.length,
      plannedRuns: planned,
      budgetSeconds: seconds,
      stoppedBy: times.length < planned ? 'time' : 'runs',
      p50: percentile(times, 0.5),
      p95: percentile(times, 0.95),
      min: times[0]!,
      max: times[times.length - 1]!,
    };
  } finally {
    await runner.close();
  }
}

// One line saying how latency was measured, for reports and terminal output.
export function describeLatency(l: LatencyReport[]): string {
  const parts = l.map(
    (r) =>
      `batch ${r.batch}: ${r.runs} timed run${r.runs === 1 ? '' : 's'}${r.stoppedBy === 'time' ? ` (the ${r.budgetSeconds} s budget ended it)` : ''}`,
  );
  return parts.join(', ');
}
