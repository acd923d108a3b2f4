import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { JobBars } from '../../jobs/bars.js';
import { kindOf, loadKinds } from '../../jobs/kind.js';
import type { JobOutcome } from '../../jobs/job.js';
import { runLocal } from '../../jobs/local.js';
import { queueStatus, runQueued } from '../../jobs/queue.js';
import { checkRedis, DEFAULT_QUEUE, maskUrl } from '../../jobs/redis.js';
import { aggregate, formatReport, writePipelineReport } from '../../jobs/report.js';
import { loadPipelineFile, type Pipeline } from '../../jobs/spec.js';
import { readSecret } from '../../jobs/trust.js';
import { UserError } from '../../util/errors.js';
import { table } from '../../util/format.js';
import { writeFileAtomic } from '../../util/fs.js';
import { lockOutFolder } from '../../util/lock.js';
import type { CliContext, CommandDef } from '../command.js';

interface PipelineArgs {
  action: 'run' | 'status';
  file?: string;
  out?: string;
  concurrency: number;
  threads?: number;
  queue?: string;
  queueName: string;
  secretFile?: string;
  attempts: number;
  backoff: number;
}

// `pipeline run`: every job of the file, here (bounded concurrency) or on the queue's workers; then the report.
async function run(a: PipelineArgs, ctx: CliContext): Promise<void> {
  if (!a.file)
    throw new UserError('pipeline run: name the pipeline file', 'onnx-distill pipeline run pipeline.yaml --out DIR');
  if (!a.out) throw new UserError('pipeline run: --out DIR is required (each job writes to DIR/<job id>/)');
  const p = await loadPipelineFile(a.file);
  const out = resolve(a.out);
  if (a.queue && !a.secretFile)
    throw new UserError(
      'pipeline run --queue: give --secret-file (the secret its workers share; they refuse unsigned jobs)',
      'make one with: openssl rand -hex 32 > secret && chmod 600 secret',
    );
  if (a.queue) readSecret(a.secretFile!);
  if (a.queue) await checkRedis(a.queue);
  const unlock = lockOutFolder(out, 'pipeline run');
  try {
    await runLocked(a, p, out, ctx);
  } finally {
    unlock();
  }
}

// `pipeline run` with its --out folder locked (a second pipeline on it would run every job twice).
async function runLocked(a: PipelineArgs, p: Pipeline, out: string, ctx: CliContext): Promise<void> {
  writeFileAtomic(
    join(out, 'pipeline.json'),
    JSON.stringify(
      { file: p.file, jobs: p.jobs.map((j) => ({ id: j.id, source: j.source, command: j.command, config: j.config })) },
      null,
      2,
    ),
  );
  ctx.log(
    `${p.jobs.length} job(s) from ${p.file}${a.queue ? `, on queue '${a.queueName}' at ${maskUrl(a.queue)}` : `, ${a.concurrency} at a time`}; outputs in ${out}/<job id>/`,
  );
  const bars = new JobBars(ctx.log, !ctx.json);
  const abort = new AbortController();
  const onSigint = () => {
    ctx.log(
      a.queue
        ? 'interrupt: no longer following (the jobs stay on the queue)'
        : 'interrupt: running jobs save a checkpoint; a rerun resumes them',
    );
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  let outcomes: Map<string, JobOutcome>;
  try {
    outcomes = a.queue
      ? await runQueued(p, {
          url: a.queue,
          secret: readSecret(a.secretFile!),
          name: a.queueName,
          out,
          attempts: a.attempts,
          backoffSeconds: a.backoff,
          bars,
          log: ctx.log,
          signal: abort.signal,
        })
      : await runLocal(p, {
          out,
          concurrency: a.concurrency,
          ...(a.threads ? { threads: a.threads } : {}),
          bars,
          signal: abort.signal,
        });
  } finally {
    bars.stop();
    process.off('SIGINT', onSigint);
  }
  const report = aggregate(p, out, outcomes);
  const files = await writePipelineReport(out, report, ctx.log);
  if (ctx.json) ctx.print(JSON.stringify(report, null, 2));
  else {
    for (const line of formatReport(report)) ctx.print(line);
    ctx.print(`wrote ${files.join(', ')}`);
  }
  if (abort.signal.aborted) throw Object.assign(new Error('interrupted'), { name: 'AbortError' });
  const failed = report.jobs.filter((j) => j.state === 'failed');
  if (failed.length) {
    throw new UserError(
      `${failed.length} of ${report.jobs.length} job(s) failed: ${failed.map((j) => `${j.id} (${j.source}): ${j.error ?? 'failed'}`).join('; ')}`,
      `each job's log is ${out}/<job id>/job.log; a rerun retries the failed jobs and skips the finished ones`,
    );
  }
}

// `pipeline status`: each job's state on the queue (--queue), or in the job folders (pipeline file and --out).
async function status(a: PipelineArgs, ctx: CliContext): Promise<void> {
  const p: Pipeline | undefined = a.file ? await loadPipelineFile(a.file) : undefined;
  if (a.queue) {
    await checkRedis(a.queue);
    const s = await queueStatus(a.queue, a.queueName);
    const ids = p ? new Set(p.jobs.map((j) => j.id)) : undefined;
    const jobs = s.jobs.filter((j) => !ids || ids.has(j.id));
    if (ctx.json) return ctx.print(JSON.stringify({ workers: s.workers, jobs }, null, 2));
    ctx.print(`queue '${a.queueName}' at ${maskUrl(a.queue)}: ${jobs.length} job(s), ${s.workers} worker(s) connected`);
    for (const line of table([
      ['id', 'state', 'attempts', 'progress', 'job', 'error'],
      ...jobs.map((j) => [j.id, j.state, String(j.attempts), j.progress || '-', j.source, j.failedReason ?? '']),
    ]))
      ctx.print(line);
    return;
  }
  if (!p || !a.out)
    throw new UserError('pipeline status: give --queue redis://host:port, or the pipeline file and its --out DIR');
  const kinds = await loadKinds();
  const rows = p.jobs.map((j) => {
    const dir = join(resolve(a.out!), j.id);
    const state = kindOf(kinds, j.command, j.source).finished(dir)
      ? 'finished'
      : existsSync(join(dir, 'checkpoint.bin'))
        ? 'checkpointed'
        : existsSync(dir)
          ? 'started'
          : 'not started';
    return { id: j.id, state, source: j.source };
  });
  if (ctx.json) return ctx.print(JSON.stringify({ jobs: rows }, null, 2));
  for (const line of table([['id', 'state', 'job'], ...rows.map((r) => [r.id, r.state, r.source])])) ctx.print(line);
}

// `onnx-distill pipeline run|status`: many compression jobs from one file.
export const command: CommandDef = {
  command: 'pipeline <action> [file]',
  describe:
    'run many distill jobs from one pipeline file (defaults, jobs, matrix), locally or on BullMQ workers, with an aggregated report',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['run', 'status'] as const, describe: 'run the jobs, or show their state' })
      .positional('file', { type: 'string', describe: 'the pipeline YAML file' })
      .option('out', {
        type: 'string',
        describe: 'output folder: one folder per job (<out>/<job id>/), pipeline-report.{md,json,png}',
      })
      .option('concurrency', {
        type: 'number',
        default: 1,
        describe: 'jobs run at once (local runs; the cores are divided between them)',
      })
      .option('threads', { type: 'number', describe: 'CPU threads shared by the running jobs (default: all cores)' })
      .option('queue', {
        type: 'string',
        describe:
          'a Redis URL (redis://[user:password@]host:port, rediss:// for TLS): enqueue the jobs for `onnx-distill worker`s and follow them',
      })
      .option('queue-name', { type: 'string', default: DEFAULT_QUEUE, describe: 'the BullMQ queue name' })
      .option('secret-file', {
        type: 'string',
        describe: 'with --queue: a file holding the secret the jobs are signed with (workers need the same one)',
      })
      .option('attempts', {
        type: 'number',
        default: 3,
        describe: 'tries per queued job for failures that are not user errors',
      })
      .option('backoff', {
        type: 'number',
        default: 10,
        describe: 'seconds before the first retry, doubling each time',
      })
      .check((a) => {
        for (const k of ['concurrency', 'attempts'] as const)
          if (!Number.isInteger(a[k]) || (a[k] as number) < 1)
            throw new UserError(`--${k}: '${String(a[k])}' must be a positive whole number`);
        if (a.threads !== undefined && (!Number.isInteger(a.threads) || a.threads < 1))
          throw new UserError(`--threads: '${String(a.threads)}' must be a positive whole number`);
        return true;
      }),
  examples: [
    ['$0 pipeline run sweep.yaml --out runs/sweep --concurrency 2', 'run every job here, two at a time'],
    [
      '$0 pipeline run sweep.yaml --out /shared/sweep --queue redis://:PASSWORD@queue-host:6379 --secret-file ~/.onnx-distill-secret',
      'enqueue signed jobs for workers on other machines and follow them',
    ],
    ['$0 pipeline status --queue redis://queue-host:6379', "each queued job's state"],
  ],
  run: async (args, ctx) => {
    const a = { ...args, queueName: args['queue-name'], secretFile: args['secret-file'] } as unknown as PipelineArgs;
    await (a.action === 'run' ? run(a, ctx) : status(a, ctx));
  },
};
