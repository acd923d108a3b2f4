import { UserError } from '../util/errors.js';

// How a term's weight changes over epochs (methods.md §1.5); applied by the host, so the graph never recompiles.
export type WeightSchedule =
  | { kind: 'constant' }
  // w · min((epoch + 1) / epochs, 1): mdistiller's DKD warm-up, whose epochs count from 1.
  | { kind: 'warmup'; epochs: number }
  // w · gamma^epoch: information-flow KD's critical-period decay (pkth: 100 · 0.7^epoch).
  | { kind: 'exp'; gamma: number };

// A term's weight in an epoch (counted from 0).
export function weightAt(w: number, s: WeightSchedule | undefined, epoch: number): number {
  if (!s || s.kind === 'constant') return w;
  if (s.kind === 'warmup') return w * Math.min((epoch + 1) / s.epochs, 1);
  return w * s.gamma ** epoch;
}

// Parse `constant`, `warmup:E` or `exp:G`, naming the option on error.
export function parseWeightSchedule(text: string, where: string): WeightSchedule {
  const [kind, arg] = text.split(':');
  const n = Number(arg);
  if (kind === 'constant' && arg === undefined) return { kind };
  if (kind === 'warmup' && Number.isInteger(n) && n > 0) return { kind, epochs: n };
  if (kind === 'exp' && Number.isFinite(n) && n > 0) return { kind, gamma: n };
  throw new UserError(`${where}: '${text}' is not a weight schedule; use constant, warmup:<epochs> or exp:<gamma>`);
}

// The schedule as it is printed in the loss formula ('' when constant).
export function describeWeightSchedule(s: WeightSchedule | undefined): string {
  if (!s || s.kind === 'constant') return '';
  return s.kind === 'warmup' ? `warm-up over ${s.epochs} epochs` : `×${s.gamma}^epoch`;
}
