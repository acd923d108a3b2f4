import { isAbsolute, resolve } from 'node:path';
import { COMMON_OPTIONS, compressOptionTable, DISTILL_OPTIONS } from '../config/options.js';
import { resolveResumable } from '../config/resolve.js';
import { FORMATS, type Format } from '../export/index.js';
import { defaultLrUpdate } from '../train/schedule.js';
import { UserError } from '../util/errors.js';
import type { DistillOptions } from './options.js';
import { applyRecipe, explicitKeys } from './recipe.js';

// The config of `compress`: its options (distill's plus the budget and the exports), how they resolve, and the
// distill config it hands on.

// The options of `compress` (and of its library call): every distill option, plus the student budget, the export
// formats and their calibration. Keys as in a run config file.
export interface CompressOptions extends DistillOptions {
  // Parameter budget relative to the teacher (default 0.25); the student is chosen under it unless `student` is given.
  size?: number;
  // Comma-separated export formats (default fp32,fp16,int8).
  formats?: string;
  verifyImages?: number;
  // The quantisation-aware fine-tune after the fp32 run (with `qat`, or when PTQ int8 loses more than maxInt8Drop).
  qatEpochs?: number;
  maxInt8Drop?: number;
  // Seconds of timed latency runs per model and batch size (default 10).
  latencySeconds?: number;
}

// The student budget when neither --size nor --student is given.
export const DEFAULT_SIZE = 0.25;

const DISTILL_KEYS = new Set([...COMMON_OPTIONS, ...DISTILL_OPTIONS].map((o) => o.key));

// Options as given -> the resolved config: compress's defaults, then `config` file, then these (as distill does,
// `resume` starts from the run's saved config.yaml).
export function resolveCompressConfig(given: CompressOptions & { config?: string }): CompressOptions {
  return resolveWithKeys(given).cfg;
}

// The resolved config with the recipe of a given --student applied, and the keys the user set (for the recipe of a
// student chosen later by --size).
export function resolveWithKeys(given: CompressOptions & { config?: string }): {
  cfg: CompressOptions;
  explicit: Set<string>;
  recipe?: string;
} {
  const table = compressOptionTable();
  const { cfg, flags, config, base } = resolveResumable(table, given);
  cfg.lrUpdate ??= defaultLrUpdate(cfg.schedule!);
  const explicit = explicitKeys(flags, config, table, base);
  const recipe = cfg.student !== undefined ? applyRecipe(cfg, [cfg.student].flat(), explicit) : undefined;
  return { cfg, explicit, ...(recipe ? { recipe } : {}) };
}

// `fp32,fp16,int8` -> the formats, in that order, each once.
export function parseFormats(text: string): Format[] {
  const parts = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  const bad = parts.find((p) => !FORMATS.includes(p as Format));
  if (bad !== undefined) throw new UserError(`--formats: unknown format '${bad}'; choose from ${FORMATS.join(', ')}`);
  if (!parts.length) throw new UserError(`--formats: '${text}' names no format; give some of ${FORMATS.join(', ')}`);
  return FORMATS.filter((f) => parts.includes(f));
}

// The distill options of a compress config (the keys distill knows, set), with the chosen student and method, and
// paths made absolute. The fp32 run trains without fake quantisation: compress's --qat is the fine-tune after it.
export function distillConfigOf(
  cfg: CompressOptions,
  student: DistillOptions['student'],
  method: string,
): DistillOptions {
  const distillCfg = Object.fromEntries(
    Object.entries(cfg).filter(([k, v]) => DISTILL_KEYS.has(k) && k !== 'qat' && v !== undefined),
  ) as DistillOptions;
  return { ...distillCfg, ...absolutePaths({ ...distillCfg, student }), method };
}

// The run's config.yaml is read back by --resume with paths relative to the run folder, so the paths given relative
// to the working directory are made absolute before distill records them.
function absolutePaths(cfg: DistillOptions): Pick<DistillOptions, 'teacher' | 'data' | 'student' | 'valData'> {
  const abs = (v: string) => (/^(zoo:|slim:|fashion-mnist$|mnist$)/.test(v) || isAbsolute(v) ? v : resolve(v));
  return {
    ...(cfg.teacher !== undefined ? { teacher: abs(cfg.teacher) } : {}),
    ...(cfg.data !== undefined ? { data: abs(cfg.data) } : {}),
    ...(cfg.valData !== undefined ? { valData: abs(cfg.valData) } : {}),
    ...(cfg.student !== undefined
      ? { student: Array.isArray(cfg.student) ? cfg.student.map(abs) : abs(cfg.student) }
      : {}),
  };
}
