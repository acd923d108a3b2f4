import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compressOptionTable } from '../../config/options.js';
import { resolveCompressConfig } from '../../pipeline/compress.js';
import type { JobKind } from '../kind.js';
import { kind as distillKind } from './distill.js';

// Keys the pipeline sets itself: each job's folder, and resuming from it.
const PIPELINE_KEYS = new Set(['out', 'resume']);

// `command: compress`: one `onnx-distill compress` run per job (distil, export, evaluate, report in the job's folder).
// Progress and figures are the distill run's (the same log lines and run.json); a job is finished once report.json is.
export const kind: JobKind = {
  command: 'compress',
  options: compressOptionTable().filter((o) => !PIPELINE_KEYS.has(o.key)),
  resolve(config) {
    const resolved = resolveCompressConfig(config) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(resolved).filter(([k, v]) => !PIPELINE_KEYS.has(k) && v !== undefined));
  },
  argv(jobFile, dir, resume, threads) {
    // The job file keeps compress's own keys (size, formats) that the resumed run's saved config does not hold.
    return [
      'compress',
      '--config',
      jobFile,
      ...(resume ? ['--resume', dir] : ['--out', dir]),
      '--threads',
      String(threads),
      '--json',
    ];
  },
  progress: (line, config) => distillKind.progress(line, config),
  finished(dir) {
    if (!existsSync(join(dir, 'report.json'))) return undefined;
    return distillKind.finished(dir);
  },
};
