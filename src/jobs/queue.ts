import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { JobBars } from './bars.js';
import { kindOf, loadKinds, type JobProgress } from './kind.js';
import type { JobOutcome } from './job.js';
import { describeOutcome } from './local.js';
import { connectionFor, maskUrl, maskUrls, throttledLog } from './redis.js';
import type { Pipeline, PipelineJob } from './spec.js';
import { pipelineId, signJob, type SignedJob } from './trust.js';

// What a queued job carries: the job itself, its folder on the shared storage (the same path on every machine), the
// pipeline's id and the signature a worker checks (trust.ts).
export type QueueJobData = SignedJob;

// What a worker returns for a job it finished.
export interface QueueJobResult {
  state: 'done' | 'skipped';
  resumed: boolean;
  worker: string;
}

export interface QueueOptions {
  url: string;
  // The secret shared with the workers (--secret-file): every queued job is signed with it.
  secret: Buffer;
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
    return metrics
      ? { id: job.id, state: 'done', metrics, ...(resumed ? { resumed } : {}) }
      : {
          id: job.id,
          state: 'failed',
          error: `the worker reported it done, but ${join(o.out, job.id)} lacks its outputs (is --out on storage every worker shares?)`,
        };
  };
  const enqueue = (job: PipelineJob) =>
    queue.add(
      job.command,
      signJob(o.secret, {
        id: job.id,
        command: job.command,
        config: job.config,
        source: job.source,
        dir: join(o.out, job.id),
        pipeline: pipelineId(p.file, o.out),
      }),
      {
        jobId: job.id,
        attempts: o.attempts,
        backoff: { type: 'exponential', delay: o.backoffSeconds * 1000 },
        removeOnComplete: false,
        removeOnFail: false,
      },
    );
  const fromQueue = async (id: string) => {
    const job = (await queue.getJob(id)) as Job<QueueJobData, QueueJobResult> | undefined;
    const state = job ? await job.getState() : 'unknown';
    const pj = byId.get(id)!;
    if (state === 'completed') settle(id, finishedOutcome(pj, job!.returnvalue?.resumed ?? false));
    else if (state === 'failed') settle(id, { id, state: 'failed', error: job?.failedReason ?? 'failed' });
    else if (state === 'unknown' && pending.has(id)) {
      // Redis lost the job (restarted without persistence, or flushed): the job folder is the truth. Finished there,
      // it is done; otherwise it is queued again and resumes from its checkpoint (a run still holding the folder is
      // waited for by the worker that takes the job, so it still runs once).
      const metrics = kindOf(kinds, pj.command, pj.source).finished(join(o.out, id));
      if (metrics) return settle(id, { id, state: 'done', metrics });
      await enqueue(pj);
      o.log(`[${id}] vanished from the queue (Redis restarted without persistence?); queued again`);
    }
  };
  const stopped = untilAborted(o.signal);
  try {
    listen(events, queue, o, (id) => (pending.has(id) ? byId.get(id) : undefined), fromQueue);
    if (!(await stopped.race(events.waitUntilReady()))) return outcomes;
    for (const job of p.jobs) {
      const dir = join(o.out, job.id);
      const done = kindOf(kinds, job.command, job.source).finished(dir);
      if (done) {
        outcomes.set(job.id, { id: job.id, state: 'skipped', metrics: done });
        o.bars.finish(job.id, describeOutcome(outcomes.get(job.id)!, job.source));
        continue;
      }
      pending.add(job.id);
      if (!(await stopped.race(queueOnce(queue, job, enqueue, o.log)))) break;
    }
    await follow(
      pending,
      queue,
      o,
      fromQueue,
      (w) => {
        wake = w;
      },
      stopped,
    );
  } finally {
    stopped.dispose();
    // Closing waits for Redis; when it is down (or the user pressed Ctrl-C) the connections are dropped instead.
    await Promise.all([events, queue].map(closeSoon));
  }
  return outcomes;
}

// Follow the queue's events for the jobs `pending` returns (the pipeline's unsettled ones); connection errors are
// logged once a minute.
function listen(
  events: QueueEvents,
  queue: Queue,
  o: QueueOptions,
  pending: (id: string) => PipelineJob | undefined,
  check: (id: string) => Promise<void>,
): void {
  const recheck = ({ jobId }: { jobId: string }) => {
    if (pending(jobId)) check(jobId).catch(() => {});
  };
  events.on('active', ({ jobId }) => {
    const j = pending(jobId);
    if (j) o.bars.start(jobId, `running ${j.source}`, Number(j.config.epochs ?? 1));
  });
  events.on('progress', ({ jobId, data }) => {
    if (pending(jobId) && typeof data === 'object') o.bars.update(jobId, data as JobProgress);
  });
  events.on('completed', recheck);
  events.on('failed', recheck);
  events.on('retries-exhausted', recheck);
  events.on('stalled', ({ jobId }) => {
    if (pending(jobId))
      o.log(`[${jobId}] its worker stopped answering; the job is back on the queue and resumes from its checkpoint`);
  });
  const faults = throttledLog(o.log);
  events.on('error', (err) => faults(`queue events: ${err.message}`));
  queue.on('error', (err) => faults(`queue: ${err.message}`));
}

// Queue one job unless it is live on the queue: one that ended on an earlier run (its folder since emptied, or
// failed) is queued afresh; a waiting or active one is followed.
async function queueOnce(
  queue: Queue,
  job: PipelineJob,
  enqueue: (job: PipelineJob) => Promise<unknown>,
  log: (line: string) => void,
): Promise<true> {
  const existing = await queue.getJob(job.id);
  const state = existing ? await existing.getState() : 'unknown';
  if (existing && FINAL.has(state)) await existing.remove();
  if (!existing || FINAL.has(state) || state === 'unknown') {
    await enqueue(job);
    log(`[${job.id}] queued ${job.source}`);
  } else log(`[${job.id}] already on the queue (${state}), following it`);
  return true;
}

// Close a BullMQ connection, or drop it when Redis does not answer within 2 s (not awaited: with the server gone,
// the promise may never settle, and awaiting it would leave the CLI on an unsettled await).
async function closeSoon(c: { close(): Promise<void>; disconnect(): Promise<void> }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    c.close().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), 2000);
    }),
  ]);
  clearTimeout(timer);
  if (!closed) c.disconnect().catch(() => {});
}

// One abort listener for the whole run (not one per wait: MaxListenersExceededWarning), and a race of any Redis call
// against it, so that Ctrl-C stops following even while Redis is down and every command waits for it.
function untilAborted(signal: AbortSignal | undefined) {
  const waiters = new Set<() => void>();
  const onAbort = () => {
    for (const w of waiters) w();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    // `{ v }` with the value of `p`, or undefined once aborted (p is left to settle on its own).
    race<T>(p: Promise<T>): Promise<{ v: T } | undefined> {
      if (signal?.aborted) {
        p.catch(() => {});
        return Promise.resolve(undefined);
      }
      return new Promise<{ v: T } | undefined>((res, rej) => {
        const w = () => res(undefined);
        waiters.add(w);
        p.then(
          (v) => {
            waiters.delete(w);
            res({ v });
          },
          (e: unknown) => {
            waiters.delete(w);
            if (signal?.aborted) res(undefined);
            else rej(e);
          },
        );
      });
    },
    sleep(ms: number, setWake: (w: () => void) => void): Promise<void> {
      return new Promise<void>((res) => {
        const done = () => {
          clearTimeout(t);
          waiters.delete(done);
          res();
        };
        const t = setTimeout(done, ms);
        waiters.add(done);
        setWake(done);
        if (signal?.aborted) done();
      });
    },
    dispose: () => {
      signal?.removeEventListener('abort', onAbort);
      waiters.clear();
    },
  };
}

// Wait until no job is pending: events settle jobs, and a poll every few seconds catches any event missed (and any
// job Redis lost). A poll that fails (Redis down) is retried at the next one.
async function follow(
  pending: Set<string>,
  queue: Queue,
  o: QueueOptions,
  check: (id: string) => Promise<void>,
  setWake: (w: () => void) => void,
  stopped: ReturnType<typeof untilAborted>,
): Promise<void> {
  let warned = false;
  const started = Date.now();
  while (pending.size && !o.signal?.aborted) {
    await stopped.sleep(3000, setWake);
    for (const id of [...pending]) {
      if (o.signal?.aborted) break;
      await stopped
        .race(check(id))
        .catch((err: unknown) =>
          o.log(
            `[${id}] cannot read its state from Redis (${maskUrls(err instanceof Error ? err.message : String(err))}); retrying`,
          ),
        );
    }
    if (
      !warned &&
      pending.size &&
      Date.now() - started > 10_000 &&
      (await stopped.race(queue.getWorkersCount()).catch(() => undefined))?.v === 0
    ) {
      warned = true;
      o.log(
        `no worker is connected to queue '${queue.name}' at ${maskUrl(o.url)}; start one with: onnx-distill worker --queue ${maskUrl(o.url)} --root DIR --secret-file FILE`,
      );
    }
  }
  if (o.signal?.aborted && pending.size)
    o.log(
      `stopped following; ${pending.size} job(s) stay on the queue (onnx-distill pipeline status --queue ${maskUrl(o.url)})`,
    );
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
    const jobs = (await queue.getJobs(
      ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'],
      0,
      -1,
      false,
    )) as Job<QueueJobData, QueueJobResult>[];
    const rows = await Promise.all(
      jobs.filter(Boolean).map(async (j): Promise<QueueJobStatus> => {
        const p = j.progress as Partial<JobProgress & { worker: string }> | number;
        const progress =
          typeof p === 'object' && p.total
            ? `${p.value}/${p.total} ${p.status ?? ''}${p.worker ? ` on ${p.worker}` : ''}`.trim()
            : '';
        return {
          id: j.id!,
          state: await j.getState(),
          source: j.data.source,
          progress,
          attempts: j.attemptsMade,
          ...(j.failedReason ? { failedReason: j.failedReason } : {}),
        };
      }),
    );
    return { jobs: rows, workers: await queue.getWorkersCount() };
  } finally {
    await queue.close();
  }
}

// This process as workers name themselves in progress and logs.
export const workerName = () => `${hostname()}:${process.pid}`;
