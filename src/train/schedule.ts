import { UserError } from '../util/errors.js';

// Learning-rate schedules as pure functions of (fractional) epoch, so resuming mid-run gives the same values.
export interface ScheduleSpec {
  kind: 'constant' | 'step' | 'multistep' | 'cosine';
  lr: number;
  epochs: number;
  // step: decay every `stepSize` epochs; multistep: at each milestone.
  stepSize?: number;
  milestones?: number[];
  gamma?: number;
  // Linear warm-up from 0 over this many epochs (applied per step).
  warmup?: number;
  minLr?: number;
}

// Learning rate at a point in training; `epoch` counts from 0 and may be fractional (per-step warm-up).
export function lrAt(s: ScheduleSpec, epoch: number): number {
  const e = Math.floor(epoch);
  const gamma = s.gamma ?? 0.1;
  let lr: number;
  switch (s.kind) {
    case 'constant': lr = s.lr; break;
    case 'step': lr = s.lr * gamma ** Math.floor(e / (s.stepSize ?? Math.max(1, Math.floor(s.epochs / 3)))); break;
    case 'multistep': lr = s.lr * gamma ** (s.milestones ?? defaultMilestones(s.epochs)).filter((m) => e >= m).length; break;
    case 'cosine': {
      const min = s.minLr ?? 0;
      lr = min + ((s.lr - min) * (1 + Math.cos((Math.PI * e) / s.epochs))) / 2;
      break;
    }
  }
  if (s.warmup && epoch < s.warmup) lr *= epoch / s.warmup;
  return lr;
}

// The reference recipes decay at 62.5%, 75% and 87.5% of training (150/180/210 of 240).
export function defaultMilestones(epochs: number): number[] {
  return [0.625, 0.75, 0.875].map((f) => Math.round(f * epochs));
}

// Parse `--schedule` text: constant | cosine | step[:N] | multistep[:m1,m2,...].
export function parseSchedule(text: string, lr: number, epochs: number, warmup = 0): ScheduleSpec {
  const [kind, arg] = text.split(':');
  const base = { lr, epochs, ...(warmup ? { warmup } : {}) };
  switch (kind) {
    case 'constant': case 'cosine': return { ...base, kind };
    case 'step': return { ...base, kind, ...(arg ? { stepSize: positiveInt(arg, text) } : {}) };
    case 'multistep': return { ...base, kind, ...(arg ? { milestones: arg.split(',').map((m) => positiveInt(m, text)) } : {}) };
    default: throw new UserError(`--schedule: unknown schedule '${text}'; use constant, cosine, step[:N] or multistep[:e1,e2,...]`);
  }
}

function positiveInt(s: string, whole: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`--schedule: '${s}' in '${whole}' is not a positive whole number of epochs`);
  return n;
}
