import { UserError } from '../util/errors.js';

// Learning-rate schedules as pure functions of (fractional) epoch, so resuming mid-run gives the same values.
export interface ScheduleSpec {
  kind: 'constant' | 'step' | 'multistep' | 'cosine';
  lr: number;
  epochs: number;
  // When the decay moves: every step (timm, the PyTorch reference recipes: cosine reaches 0 at the last step) or at
  // epoch boundaries (PyTorch's schedulers stepped once per epoch). Unset: the kind's default (defaultLrUpdate).
  update?: LrUpdate;
  // step: decay every `stepSize` epochs; multistep: at each milestone.
  stepSize?: number;
  milestones?: number[];
  gamma?: number;
  // Linear warm-up from 0 over this many epochs (applied per step).
  warmup?: number;
  minLr?: number;
}

// How often the schedule's decay is re-evaluated (--lr-update).
export type LrUpdate = 'step' | 'epoch';

// Cosine (and constant) decay per step; step/multistep per epoch, as their papers (He et al. 2016, 1512.03385) do.
export function defaultLrUpdate(schedule: string): LrUpdate {
  const kind = schedule.split(':')[0];
  return kind === 'step' || kind === 'multistep' ? 'epoch' : 'step';
}

// Learning rate at a point in training; `epoch` counts from 0 and is fractional within an epoch (step k of S in epoch
// e is e + k/S, so the value is a function of the global step). The decay reads the fractional epoch per step, the
// integer epoch per epoch; the linear warm-up is always per step (Goyal et al. 2017, 1706.02677).
export function lrAt(s: ScheduleSpec, epoch: number): number {
  const e = (s.update ?? defaultLrUpdate(s.kind)) === 'epoch' ? Math.floor(epoch) : epoch;
  const gamma = s.gamma ?? 0.1;
  let lr: number;
  switch (s.kind) {
    case 'constant':
      lr = s.lr;
      break;
    case 'step':
      lr = s.lr * gamma ** Math.floor(e / (s.stepSize ?? Math.max(1, Math.floor(s.epochs / 3))));
      break;
    case 'multistep':
      lr = s.lr * gamma ** (s.milestones ?? defaultMilestones(s.epochs)).filter((m) => e >= m).length;
      break;
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

// Parse `--schedule` text: constant | cosine | step[:N] | multistep[:m1,m2,...]; `update` unset: the kind's default.
export function parseSchedule(text: string, lr: number, epochs: number, warmup = 0, update?: LrUpdate): ScheduleSpec {
  const [kind, arg] = text.split(':');
  const base = { lr, epochs, ...(warmup ? { warmup } : {}), update: update ?? defaultLrUpdate(text) };
  switch (kind) {
    case 'constant':
    case 'cosine':
      return { ...base, kind };
    case 'step':
      return { ...base, kind, ...(arg ? { stepSize: positiveInt(arg, text) } : {}) };
    case 'multistep':
      return { ...base, kind, ...(arg ? { milestones: arg.split(',').map((m) => positiveInt(m, text)) } : {}) };
    default:
      throw new UserError(
        `--schedule: unknown schedule '${text}'; use constant, cosine, step[:N] or multistep[:e1,e2,...]`,
      );
  }
}

function positiveInt(s: string, whole: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`--schedule: '${s}' in '${whole}' is not a positive whole number of epochs`);
  return n;
}
