import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UserError } from '../util/errors.js';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { runJob } from './job.js';
import { threadsPerJob } from './local.js';
import { workerName, type QueueJobData, type QueueJobResult } from './queue.js';
import { checkRedis, connectionFor, maskUrl, maskUrls, throttledLog } from './redis.js';
import { checkQueuedJob } from './trust.js';

export interface WorkerOptions {
  url: string;
  name: string;
  // Jobs this worker runs at once.
  concurrency: number;
  // CPU threads shared by its running jobs (default: every core).
  threads?: number;
  // How long a worker may go silent before its job counts as stalled and goes to another worker.
  stalledSeconds: number;
  log: (line: string) => void;
  // Aborting stops the worker: running jobs checkpoint, go back to the queue (to resume elsewhere), and it exits.
  signal: AbortSignal;
  // The shared folder this worker serves: every job folder and path a job writes must be inside it.
  root: string;
  // The secret `pipeline run` signs its jobs with (--secret-file).
  secret: Buffer;
}

// A job whose worker went silent this many times fails instead of being offered again.
const MAX_STALLS = 3;

// Process pipeline jobs from the queue until `signal` aborts. Locks are renewed every stalledSeconds/2; a worker that
// dies (kill -9, lost machine) stops renewing, and the stalled-job check of any other worker puts its job back on the
// queue, where the next worker finds the checkpoint in the shared folder and resumes.
export async function runWorker(o: WorkerOptions): Promise<void> {
  await checkRedis(o.url);
  if (!existsSync(o.root) || !statSync(o.root).isDirectory())
    throw new UserError(
      `--root: ${o.root}: no such folder`,
      'give the shared folder the pipelines write to (their --out is inside it)',
    );
  const me = workerName();
  const threads = threadsPerJob(o.threads ?? availableParallelism(), o.concurrency);
  const stop = new AbortController();
  const processJob = async (job: Job<QueueJobData, QueueJobResult>): Promise<QueueJobResult> => {
    let d: QueueJobData;
    try {
      d = await checkQueuedJob(job.data, job.id, o.secret, o.root);
    } catch (err: unknown) {
      // Never run, never retried; the queue records why (pipeline status shows it).
      const why = maskUrls(err instanceof Error ? err.message : String(err));
      o.log(why);
      throw new UnrecoverableError(why);
    }
    const total = Number(d.config.epochs ?? 1);
    let waited = false;
    const progress = (p: object) => {
      job.updateProgress({ ...p, worker: me }).catch(() => {});
    };
    o.log(`[${d.id}] ${d.source}: attempt ${job.attemptsMade + 1}`);
    const r = await runJob({ id: d.id, command: d.command, config: d.config, given: [], source: d.source }, d.dir, {
      threads: typeof d.config.threads === 'number' ? d.config.threads : threads,
      signal: stop.signal,
      onStart: (resumed) =>
        progress({ value: 0, total, status: resumed ? 'resuming from its checkpoint' : 'starting' }),
      onProgress: progress,
      onWait: (w) => {
        if (!waited) o.log(`[${d.id}] ${w}`);
        waited = true;
      },
    });
    o.log(`[${d.id}] ${r.state}${r.resumed ? ' (resumed)' : ''}${r.error ? `: ${r.error}` : ''}`);
    if (r.state === 'done' || r.state === 'skipped') return { state: r.state, resumed: r.resumed ?? false, worker: me };
    if (r.state === 'interrupted')
      throw new Error(`interrupted on ${me}; the checkpoint is kept and the next attempt resumes from it`);
    if (r.userError) throw new UnrecoverableError(r.error ?? 'user error');
    throw new Error(r.error ?? 'failed');
  };
  const worker = new Worker<QueueJobData, QueueJobResult>(o.name, processJob, {
    connection: connectionFor(o.url),
    concurrency: o.concurrency,
    name: me,
    lockDuration: o.stalledSeconds * 1000,
    stalledInterval: o.stalledSeconds * 1000,
    maxStalledCount: MAX_STALLS,
  });
  const faults = throttledLog(o.log);
  worker.on('error', (err) => faults(`worker error: ${err.message}`));
  await worker.waitUntilReady();
  o.log(
    `worker ${me} on queue '${o.name}' at ${maskUrl(o.url)}: ${o.concurrency} job(s) at once, ${threads} thread(s) each; runs signed jobs that write inside ${o.root}`,
  );
  await new Promise<void>((res) =>
    o.signal.aborted ? res() : o.signal.addEventListener('abort', () => res(), { once: true }),
  );
  o.log('stopping: running jobs save a checkpoint and go back to the queue');
  stop.abort();
  await worker.close();
}
