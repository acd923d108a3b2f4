import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { COMMON_OPTIONS, DISTILL_OPTIONS } from '../../config/options.js';
import { resolveDistillConfig } from '../../pipeline/distillConfig.js';
import type { RunRecord } from '../../train/loop.js';
import type { JobKind, JobMetrics } from '../kind.js';

// Keys the pipeline sets itself: each job's folder, and resuming from it.
const PIPELINE_KEYS = new Set(['out', 'resume']);

// `command: distill`: one `onnx-distill distill` run per job.
export const kind: JobKind = {
  command: 'distill',
  options: [...COMMON_OPTIONS, ...DISTILL_OPTIONS].filter((o) => !PIPELINE_KEYS.has(o.key)),
  resolve(config) {
    const resolved = resolveDistillConfig(config) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(resolved).filter(([k, v]) => !PIPELINE_KEYS.has(k) && v !== undefined));
  },
  argv(jobFile, dir, resume, threads) {
    // A resumed run reads its config from dir/config.yaml; only the thread count may differ on another machine.
    return resume
      ? ['distill', '--resume', dir, '--threads', String(threads), '--json']
      : ['distill', '--config', jobFile, '--out', dir, '--threads', String(threads), '--json'];
  },
  progress(line, config) {
    const epochs = Number(config.epochs);
    const epoch = /^epoch (\d+)\/(\d+):/.exec(line);
    if (epoch)
      return {
        value: Number(epoch[1]),
        total: Number(epoch[2]),
        status: line
          .replace(/^epoch \d+\/\d+: /, '')
          .split(', ')
          .slice(0, 1)
          .concat(/val acc ([^,]+)/.exec(line)?.[0] ?? [])
          .join(', '),
      };
    const resumed = /^resumed from .*: epoch (\d+)/.exec(line);
    if (resumed) return { value: Number(resumed[1]), total: epochs, status: `resumed at epoch ${resumed[1]}` };
    if (line.startsWith('compiled training step')) return { value: 0, total: epochs, status: 'training' };
    return undefined;
  },
  finished(dir) {
    const record = readRecord(dir);
    if (!record || record.interrupted) return undefined;
    const files = Object.entries(record.outputs)
      .filter(([k, p]) => k !== 'checkpoint' && p)
      .map(([, p]) => join(dir, basename(p)));
    if (!files.every((f) => existsSync(f))) return undefined;
    return metrics(record);
  },
};

function readRecord(dir: string): RunRecord | undefined {
  const path = join(dir, 'run.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

// The first student's accuracies (the network being compressed; an online teacher may be trained too) and the time
// the run spent compiling and training, summed over its epochs so that a resumed run counts each epoch once.
function metrics(r: RunRecord): JobMetrics {
  const student = r.networks.find((n) => n.role === 'student') ?? r.networks.find((n) => n.trainable);
  return {
    ...(student?.bestValAcc !== undefined ? { bestValAcc: student.bestValAcc } : {}),
    ...(student?.lastValAcc !== undefined ? { lastValAcc: student.lastValAcc } : {}),
    wallSeconds: r.compileSeconds + r.history.reduce((s, h) => s + h.seconds, 0),
  };
}
