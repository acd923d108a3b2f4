import { COMMON_OPTIONS } from './commonOptions.js';
import { DISTILL_OPTIONS } from './distillOptions.js';
import type { OptionDef } from './types.js';

// The keys a `stages:` entry may set: the run's own options of those names, applied to one stage.
export const STAGE_KEYS = [
  'epochs',
  'optimizer',
  'lr',
  'momentum',
  'nesterov',
  'weightDecay',
  'schedule',
  'warmup',
  'lrUpdate',
  'terms',
] as const;

// One stage's settings from `stages:`; unset keys keep the stage's default (its method's, or the run's).
export interface StageConfig {
  epochs?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: string;
  warmup?: number;
  lrUpdate?: 'step' | 'epoch';
  terms?: string | Record<string, number>;
}

// The option definitions of the stage keys (from the common table, so a stage key checks as its run option does).
export function stageOptionDefs(): OptionDef[] {
  return STAGE_KEYS.map((k) => COMMON_OPTIONS.find((o) => o.key === k) ?? DISTILL_OPTIONS.find((o) => o.key === k)!);
}
