import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { JobBars } from './bars.js';
import { runJob, type JobOutcome } from './job.js';
import type { Pipeline } from './spec.js';

export interface LocalOptions {
  out: string;
  // Jobs running at once.
  concurrency: number;
  // CPU threads shared by the running jobs (default: every core); a job that sets `threads` keeps its own.
  threads?: number;
  bars: JobBars;
  // Aborted (Ctrl-C): no new job starts, running ones checkpoint and stop.
  signal?: AbortSignal;
}

// onnxruntime threads per job: the cores divided between the jobs that run at once, at least one each.
export function threadsPerJob(total: number, running: number): number {
  return Math.max(1, Math.floor(total / Math.max(1, running)));
}

// Run a pipeline's jobs on this machine, at most `concurrency` at once; a failed job does not stop the others.
export async function runLocal(p: Pipeline, o: LocalOptions): Promise<Map<string, JobOutcome>> {
  const limit = pLimit(o.concurrency);
  const threads = threadsPerJob(o.threads ?? availableParallelism(), Math.min(o.concurrency, p.jobs.length));
  const outcomes = new Map<string, JobOutcome>();
  await Promise.all(
    p.jobs.map((job) =>
      limit(async () => {
        if (o.signal?.aborted) return;
        const total = Number(job.config.epochs ?? 1);
        const outcome = await runJob(job, join(o.out, job.id), {
          threads: typeof job.config.threads === 'number' ? job.config.threads : threads,
          ...(o.signal ? { signal: o.signal } : {}),
          onStart: (resumed) => o.bars.start(job.id, `${resumed ? 'resuming' : 'starting'} ${job.source}`, total),
          onProgress: (pr) => o.bars.update(job.id, pr),
        });
        outcomes.set(job.id, outcome);
        o.bars.finish(job.id, describeOutcome(outcome, job.source));
      }),
    ),
  );
  return outcomes;
}

// One line per finished job for the log.
export function describeOutcome(o: JobOutcome, source: string): string {
  const acc = o.metrics?.bestValAcc === undefined ? '' : `, best val acc ${(100 * o.metrics.bestValAcc).toFixed(2)}%`;
  switch (o.state) {
    case 'skipped':
      return `${source}: already finished, skipped${acc}`;
    case 'done':
      return `${source}: done${o.resumed ? ' (resumed from its checkpoint)' : ''}${acc}`;
    case 'interrupted':
      return `${source}: interrupted; its checkpoint is kept and a rerun resumes it`;
    case 'failed':
      return `${source}: FAILED: ${o.error ?? 'unknown error'}`;
  }
}
