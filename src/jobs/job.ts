import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { configToYaml } from '../config/file.js';
import { writeFileAtomic } from '../util/fs.js';
import { liveHolder, LOCK_FILE } from '../util/lock.js';
import { kindOf, loadKinds, type JobMetrics, type JobProgress } from './kind.js';
import type { PipelineJob } from './spec.js';

// Each job runs as its own `onnx-distill <command>` child process rather than in the pipeline's process:
// - a crash, an out-of-memory kill or a native onnxruntime abort ends that job only, and is reported like any failure;
// - a BullMQ worker's event loop stays free to renew its job locks (compiling a training step blocks a thread for
//   seconds, which in-process would let the lock lapse and the job be taken as stalled);
// - kill and resume are the command's own, already tested ones: SIGINT checkpoints mid-epoch, `--resume DIR` continues.
// bin/exit-with-parent.js ends the child when its parent dies, so a killed worker leaves no orphan behind.
const BIN = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
const GUARD = new URL('../../bin/exit-with-parent.js', import.meta.url).href;

export type JobState = 'done' | 'skipped' | 'failed' | 'interrupted';

// How one attempt at a job ended.
export interface JobOutcome {
  id: string;
  state: JobState;
  // The job's own error message (its last `onnx-distill: error:` line), when it failed.
  error?: string;
  // A mistake in the job's config or inputs (exit 2): retrying cannot help.
  userError?: boolean;
  metrics?: JobMetrics;
  resumed?: boolean;
}

export interface JobRunOptions {
  // onnxruntime threads for this job (the machine's cores divided between the jobs running at once).
  threads: number;
  onProgress?: (p: JobProgress) => void;
  onStart?: (resumed: boolean) => void;
  // Said once per second while another live run holds the job's folder.
  onWait?: (what: string) => void;
  // Aborting sends the job SIGINT: it saves a checkpoint and exits, to be resumed later.
  signal?: AbortSignal;
}

// Run one job in `dir` (its folder under the pipeline's --out): skipped when its outputs are complete, resumed when
// the folder holds a checkpoint, started afresh otherwise. Never throws for the job's own failure: it says so.
export async function runJob(job: PipelineJob, dir: string, o: JobRunOptions): Promise<JobOutcome> {
  const kind = kindOf(await loadKinds(), job.command, job.source);
  // A live run holds the folder (the same job queued again after a Redis restart lost the queue): wait for it to
  // end, then take what it left (finished: skipped; a checkpoint: resumed), so that the job still runs once.
  for (let h = liveHolder(join(dir, LOCK_FILE)); h; h = liveHolder(join(dir, LOCK_FILE))) {
    if (o.signal?.aborted) return { id: job.id, state: 'interrupted' };
    o.onWait?.(`waiting for the run that holds ${dir} (pid ${h.pid} on ${h.host}) to end`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const finished = kind.finished(dir);
  if (finished) return { id: job.id, state: 'skipped', metrics: finished };
  mkdirSync(dir, { recursive: true });
  const jobFile = join(dir, 'job.yaml');
  writeFileAtomic(jobFile, `# ${job.source}, id ${job.id}\n${configToYaml(job.config)}`);
  const resumed = existsSync(join(dir, 'checkpoint.bin')) && existsSync(join(dir, 'config.yaml'));
  const argv = kind.argv(jobFile, dir, resumed, o.threads);
  const log = join(dir, 'job.log');
  appendFileSync(
    log,
    `# ${new Date().toISOString()} ${hostname()} pid ${process.pid}: onnx-distill ${argv.join(' ')}\n`,
  );
  o.onStart?.(resumed);
  // Its own process group: a Ctrl-C at the terminal reaches the pipeline only, which passes the job one SIGINT
  // (a second one would make the job abort without its checkpoint).
  const child = spawn(process.execPath, ['--import', GUARD, BIN, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  const onAbort = () => child.kill('SIGINT');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let error: string | undefined;
  const lines = createInterface({ input: child.stderr! });
  lines.on('line', (line) => {
    appendFileSync(log, `${line}\n`);
    const e = /^onnx-distill: (?:internal )?error: (.*)$/.exec(line);
    if (e) error = e[1];
    const p = kind.progress(line, job.config);
    if (p) o.onProgress?.(p);
  });
  child.stdout!.on('data', (chunk: Buffer) => appendFileSync(log, chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => {
    child.on('error', (err) => {
      error = err.message;
      res([null, null]);
    });
    child.on('close', (c, s) => res([c, s]));
  });
  o.signal?.removeEventListener('abort', onAbort);
  const base = { id: job.id, ...(resumed ? { resumed } : {}) };
  if (code === 0) {
    const metrics = kind.finished(dir);
    return metrics ? { ...base, state: 'done', metrics } : { ...base, state: 'interrupted' };
  }
  if (code === 130 || signal === 'SIGINT') return { ...base, state: 'interrupted' };
  if (code === 2) return { ...base, state: 'failed', userError: true, error: error ?? 'exit code 2' };
  return { ...base, state: 'failed', error: error ?? (signal ? `killed by ${signal}` : `exit code ${code}`) };
}
