import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { JobBars } from './bars.js';
import { kindOf, loadKinds, type JobProgress } from './kind.js';
import type { JobOutcome } from './job.js';
import { describeOutcome } from './local.js';
import { connectionFor } from './redis.js';
import type { Pipeline, PipelineJob } from './spec.js';

// What a queued job carries: the job itself and its folder on the shared storage (the same path on every machine).
export interface QueueJobData {
  id: string;
  command: string;
  config: Record<string, unknown>;
  source: string;
  dir: string;
}

// What a worker returns for a job it finished.
export interface QueueJobResult {
  state: 'done' | 'skipped';
  resumed: boolean;
  worker: string;
}

export interface QueueOptions {
  url: string;
  name: string;
  out: string;
  // Tries per job for failures that are not user errors, with exponential backoff from `backoffSeconds`.
  attempts: number;
  backoffSeconds: number;
  bars: JobBars;
  log: (line: string) => void;
  signal?: AbortSignal;
}

const FINAL = new Set(['completed', 'failed']);

// Put a pipeline's unfinished jobs on the queue (job id = pipeline job id) and follow them through QueueEvents until
// each has completed or failed for good; jobs already finished in --out are not queued again.
export async function runQueued(p: Pipeline, o: QueueOptions): Promise<Map<string, JobOutcome>> {
  const connection = connectionFor(o.url);
  const kinds = await loadKinds();
  const queue = new Queue<QueueJobData, QueueJobResult>(o.name, { connection });
  const events = new QueueEvents(o.name, { connection });
  const outcomes = new Map<string, JobOutcome>();
  const byId = new Map(p.jobs.map((j) => [j.id, j]));
  const pending = new Set<string>();
  let wake = () => {};
  const settle = (id: string, outcome: JobOutcome) => {
    if (!pending.delete(id)) return;
    outcomes.set(id, outcome);
    o.bars.finish(id, describeOutcome(outcome, byId.get(id)!.source));
    wake();
  };
  const finishedOutcome = (job: PipelineJob, resumed: boolean): JobOutcome => {
    const metrics = kindOf(kinds, job.command, job.source).finished(join(o.out, job.id));
    return metrics ? { id: job.id, state: 'done', metrics, ...(resumed ? { resumed } : {}) } : { id: job.id, state: 'failed', error: `the worker reported it done, but ${join(o.out, job.id)} lacks its outputs (is --out on storage every worker shares?)` };
  };
  const fromQueue = async (id: string) => {
    const job = await queue.getJob(id) as Job<QueueJobData, QueueJobResult> | undefined;
    const state = job ? await job.getState() : 'unknown';
    if (state === 'completed') settle(id, finishedOutcome(byId.get(id)!, job!.returnvalue?.resumed ?? false));
    else if (state === 'failed' || state === 'unknown') settle(id, { id, state: 'failed', error: job?.failedReason ?? 'the job left the queue' });
  };
  try {
    events.on('active', ({ jobId }) => { if (pending.has(jobId)) o.bars.start(jobId, `running ${byId.get(jobId)!.source}`, Number(byId.get(jobId)!.config.epochs ?? 1)); });
    events.on('progress', ({ jobId, data }) => { if (pending.has(jobId) && typeof data === 'object') o.bars.update(jobId, data as JobProgress); });
    events.on('completed', ({ jobId }) => { if (pending.has(jobId)) void fromQueue(jobId); });
    events.on('failed', ({ jobId }) => { if (pending.has(jobId)) void fromQueue(jobId); });
    events.on('stalled', ({ jobId }) => { if (pending.has(jobId)) o.log(`[${jobId}] its worker stopped answering; the job is back on the queue and resumes from its checkpoint`); });
    events.on('retries-exhausted', ({ jobId }) => { if (pending.has(jobId)) void fromQueue(jobId); });
    await events.waitUntilReady();
    for (const job of p.jobs) {
      const dir = join(o.out, job.id);
      const done = kindOf(kinds, job.command, job.source).finished(dir);
      if (done) {
        outcomes.set(job.id, { id: job.id, state: 'skipped', metrics: done });
        o.bars.finish(job.id, describeOutcome(outcomes.get(job.id)!, job.source));
        continue;
      }
      pending.add(job.id);
      const existing = await queue.getJob(job.id);
      const state = existing ? await existing.getState() : 'unknown';
      // A job that ended on an earlier run (its folder since emptied, or failed) is queued afresh; a live one is followed.
      if (existing && FINAL.has(state)) await existing.remove();
      if (!existing || FINAL.has(state) || state === 'unknown') {
        await queue.add(job.command, { id: job.id, command: job.command, config: job.config, source: job.source, dir }, {
          jobId: job.id, attempts: o.attempts, backoff: { type: 'exponential', delay: o.backoffSeconds * 1000 }, removeOnComplete: false, removeOnFail: false,
        });
        o.log(`[${job.id}] queued ${job.source}`);
      } else o.log(`[${job.id}] already on the queue (${state}), following it`);
    }
    await follow(pending, queue, o, fromQueue, (w) => { wake = w; });
  } finally {
    await events.close();
    await queue.close();
  }
  return outcomes;
}

// Wait until no job is pending: events settle jobs, and a poll every few seconds catches any event missed.
async function follow(pending: Set<string>, queue: Queue, o: QueueOptions, check: (id: string) => Promise<void>, setWake: (w: () => void) => void): Promise<void> {
  let warned = false;
  const started = Date.now();
  while (pending.size && !o.signal?.aborted) {
    await new Promise<void>((res) => {
      const t = setTimeout(res, 3000);
      setWake(() => { clearTimeout(t); res(); });
      o.signal?.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true });
    });
    for (const id of [...pending]) await check(id);
    if (!warned && pending.size && Date.now() - started > 10_000 && (await queue.getWorkersCount()) === 0) {
      warned = true;
      o.log(`no worker is connected to queue '${queue.name}' at ${o.url}; start one with: onnx-distill worker --queue ${o.url}`);
    }
  }
  if (o.signal?.aborted && pending.size) o.log(`stopped following; ${pending.size} job(s) stay on the queue (onnx-distill pipeline status --queue ${o.url})`);
}

// One job on the queue as `pipeline status` shows it.
export interface QueueJobStatus {
  id: string;
  state: string;
  source: string;
  progress: string;
  attempts: number;
  failedReason?: string;
}

// Every job on the queue with its state, newest first.
export async function queueStatus(url: string, name: string): Promise<{ jobs: QueueJobStatus[]; workers: number }> {
  const queue = new Queue<QueueJobData, QueueJobResult>(name, { connection: connectionFor(url) });
  try {
    const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'], 0, -1, false) as Job<QueueJobData, QueueJobResult>[];
    const rows = await Promise.all(jobs.filter(Boolean).map(async (j): Promise<QueueJobStatus> => {
      const p = j.progress as Partial<JobProgress & { worker: string }> | number;
      const progress = typeof p === 'object' && p.total ? `${p.value}/${p.total} ${p.status ?? ''}${p.worker ? ` on ${p.worker}` : ''}`.trim() : '';
      return { id: j.id!, state: await j.getState(), source: j.data.source, progress, attempts: j.attemptsMade, ...(j.failedReason ? { failedReason: j.failedReason } : {}) };
    }));
    return { jobs: rows, workers: await queue.getWorkersCount() };
  } finally {
    await queue.close();
  }
}

// This process as workers name themselves in progress and logs.
export const workerName = () => `${hostname()}:${process.pid}`;
