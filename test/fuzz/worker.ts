// Fuzz worker: runs one target on one mutant file per message, so the harness can time it out and replace it.
import { parentPort } from 'node:worker_threads';
import { TARGETS, type RunEnv } from './targets.js';

export interface Job {
  target: string;
  path: string;
  env: RunEnv;
}

parentPort!.on('message', (job: Job) => {
  const t = TARGETS.find((x) => x.name === job.target)!;
  t.run(job.path, job.env).then(
    (r) => parentPort!.postMessage({ ok: true, run: r }),
    (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});
