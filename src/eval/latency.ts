import { openRunner } from '../runtime/inference.js';
import type { DType } from '../ir/dtype.js';

// Latency of one batch size: percentiles over timed runs after warm-up, in milliseconds.
export interface LatencyReport {
  batch: number;
  threads: number;
  runs: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

// The q-quantile of sorted values (nearest rank).
export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

// Time a model in onnxruntime-node on this thread at a batch size: `warmup` untimed runs, then `runs` timed ones on
// the same input (random normal-ish pixels; a CNN's cost does not depend on the values).
export async function measureLatency(bytes: Uint8Array, input: [number, number, number], o: { batch: number; threads: number; runs?: number; warmup?: number; inputType?: DType; device?: string }): Promise<LatencyReport> {
  const runner = await openRunner('node', bytes, { threads: o.threads, ...(o.inputType ? { inputType: o.inputType } : {}), ...(o.device ? { device: o.device } : {}) });
  try {
    const dims = [o.batch, ...input];
    const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 1.5;
    const runs = o.runs ?? 30;
    for (let i = 0; i < (o.warmup ?? 5); i++) await runner.run(x, dims);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await runner.run(x, dims);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { batch: o.batch, threads: o.threads, runs, p50: percentile(times, 0.5), p95: percentile(times, 0.95), min: times[0]!, max: times[times.length - 1]! };
  } finally {
    await runner.close();
  }
}
