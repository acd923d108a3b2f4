import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_QUEUE } from '../../jobs/redis.js';
import { readSecret } from '../../jobs/trust.js';
import { runWorker } from '../../jobs/worker.js';
import { UserError } from '../../util/errors.js';
import type { CommandDef } from '../command.js';

// `onnx-distill worker`: process pipeline jobs from a BullMQ queue until Ctrl-C or SIGTERM.
export const command: CommandDef = {
  command: 'worker',
  describe:
    'process pipeline jobs from a BullMQ queue on Redis (start one per machine; --out of the pipeline must be shared storage)',
  builder: (y: Argv) =>
    y
      .option('queue', {
        type: 'string',
        demandOption: true,
        describe: 'the Redis URL: redis://[user:password@]host:port, rediss:// for TLS (the password is never printed)',
      })
      .option('root', {
        type: 'string',
        demandOption: true,
        describe:
          'the shared folder this worker serves: a job whose folder, or any path it writes, is outside it (symlinks resolved) is refused',
      })
      .option('secret-file', {
        type: 'string',
        demandOption: true,
        describe:
          'a file holding the secret that `pipeline run --secret-file` signs its jobs with; unsigned or forged jobs are refused',
      })
      .option('queue-name', { type: 'string', default: DEFAULT_QUEUE, describe: 'the BullMQ queue name' })
      .option('concurrency', {
        type: 'number',
        default: 1,
        describe: 'jobs run at once on this machine (the cores are divided between them)',
      })
      .option('threads', { type: 'number', describe: 'CPU threads shared by the running jobs (default: all cores)' })
      .option('stalled-seconds', {
        type: 'number',
        default: 30,
        describe: 'a job whose worker is silent this long goes to another worker (resuming from its checkpoint)',
      })
      .check((a) => {
        for (const k of ['concurrency', 'stalled-seconds'] as const)
          if (!Number.isInteger(a[k]) || (a[k] as number) < 1)
            throw new UserError(`--${k}: '${String(a[k])}' must be a positive whole number`);
        return true;
      }),
  examples: [
    [
      '$0 worker --queue redis://:PASSWORD@queue-host:6379 --root /shared --secret-file ~/.onnx-distill-secret',
      'run queued jobs here, one at a time',
    ],
    [
      '$0 worker --queue rediss://worker:PASSWORD@queue-host:6380 --root /shared --secret-file s --concurrency 2 --threads 8',
      'TLS and an ACL user; two jobs at once, four threads each',
    ],
  ],
  run: async (a, ctx) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await runWorker({
        url: String(a.queue),
        name: String(a['queue-name']),
        concurrency: Number(a.concurrency),
        stalledSeconds: Number(a['stalled-seconds']),
        ...(a.threads !== undefined ? { threads: Number(a.threads) } : {}),
        log: ctx.log,
        signal: stop.signal,
        root: resolve(String(a.root)),
        secret: readSecret(String(a['secret-file'])),
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
