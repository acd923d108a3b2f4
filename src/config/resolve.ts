import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UserError } from '../util/errors.js';
import { loadConfigFile, locateKey } from './file.js';
import { flagOf, STAGE_KEYS, stageOptionDefs, type OptionDef, type StageConfig } from './options.js';

// Declare the table's options as yargs flags WITHOUT defaults, so a flag the user typed can be told from a default
// (flags override the config file, which overrides the defaults).
export function declareOptions(y: Argv, options: OptionDef[]): Argv {
  for (const o of options) {
    if (o.fileOnly || o.type === 'stages') continue;
    const type = o.type === 'strings' || o.type === 'terms' || o.type === 'numbers' ? 'string' : o.type;
    const shown =
      o.defaultDescription ??
      (o.default === undefined ? undefined : Array.isArray(o.default) ? o.default.join(' ') : String(o.default));
    y = y.option(flagOf(o.key), {
      type,
      describe: o.describe,
      ...(o.type === 'strings' ? { array: true } : {}),
      ...(o.choices ? { choices: o.choices } : {}),
      ...(shown !== undefined ? { defaultDescription: shown } : {}),
    });
  }
  return y;
}

// Check one value against its option (from a flag or a file), naming where it came from.
function checkValue(o: OptionDef, v: unknown, where: string): unknown {
  if (o.type === 'number') {
    const n = Number(v);
    if (typeof v === 'boolean' || !Number.isFinite(n)) throw new UserError(`${where}: '${String(v)}' is not a number`);
    if (o.positive && (n <= 0 || (o.integer && !Number.isInteger(n))))
      throw new UserError(`${where}: '${String(v)}' must be a positive ${o.integer ? 'whole number' : 'number'}`);
    if (o.integer && !Number.isInteger(n)) throw new UserError(`${where}: '${String(v)}' must be a whole number`);
    if (o.nonNegative && n < 0) throw new UserError(`${where}: '${String(v)}' must be ≥ 0`);
    if (o.max !== undefined && n > o.max) throw new UserError(`${where}: '${String(v)}' must be ≤ ${o.max}`);
    return n;
  }
  if (o.type === 'numbers') return checkNumbers(o, v, where);
  if (o.type === 'stages') return checkStages(v, where);
  if (o.type === 'strings') return (Array.isArray(v) ? v : [v]).map(String);
  if (o.choices && !o.choices.includes(String(v)))
    throw new UserError(`${where}: '${String(v)}' is not one of ${o.choices.join(', ')}`);
  return v;
}

// A list of numbers (`0.08,1`, a YAML list or one number) with its allowed lengths, bounds and order.
function checkNumbers(o: OptionDef, v: unknown, where: string): number[] {
  const items = Array.isArray(v) ? v : typeof v === 'number' ? [v] : String(v).split(',');
  const xs = items.map((x) => (typeof x === 'string' && x.trim() === '' ? NaN : Number(x)));
  const shown = Array.isArray(v) ? v.join(',') : String(v);
  if (typeof v === 'boolean' || xs.some((x) => !Number.isFinite(x)))
    throw new UserError(`${where}: '${shown}' is not a comma-separated list of numbers`);
  if (o.count && !o.count.includes(xs.length))
    throw new UserError(`${where}: '${shown}' has ${xs.length} value(s); give ${o.count.join(' or ')}`);
  if (o.positive && xs.some((x) => x <= 0)) throw new UserError(`${where}: '${shown}': every value must be positive`);
  if (o.range && xs.some((x) => x < o.range![0] || x > o.range![1]))
    throw new UserError(`${where}: '${shown}': every value must be in [${o.range.join(', ')}]`);
  if (o.ordered && xs.some((x, i) => i > 0 && x < xs[i - 1]!))
    throw new UserError(`${where}: '${shown}': give lo,hi with lo ≤ hi`);
  return xs;
}

// `stages:` given to the library (a config file's was checked by its schema): a mapping of stage name to stage keys.
function checkStages(v: unknown, where: string): Record<string, StageConfig> {
  const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isMap(v))
    throw new UserError(`${where}: must be a mapping of stage name to its settings, e.g. { heads: { epochs: 5 } }`);
  const defs = stageOptionDefs();
  const out: Record<string, StageConfig> = {};
  for (const [name, entry] of Object.entries(v)) {
    if (!isMap(entry)) throw new UserError(`${where}.${name}: must be a mapping of ${STAGE_KEYS.join(', ')}`);
    const checked: Record<string, unknown> = (out[name] = {});
    for (const [k, x] of Object.entries(entry)) {
      const o = defs.find((d) => d.key === k);
      if (!o)
        throw new UserError(`${where}.${name}: unknown key '${k}'`, `valid keys of a stage: ${STAGE_KEYS.join(', ')}`);
      if (o.type === 'boolean' && typeof x !== 'boolean')
        throw new UserError(`${where}.${name}.${k}: '${String(x)}' is not true or false`);
      if (o.type === 'string' && typeof x !== 'string')
        throw new UserError(`${where}.${name}.${k}: '${String(x)}' is not a string`);
      checked[k] = checkValue(o, x, `${where}.${name}.${k}`);
    }
  }
  return out;
}

// Defaults, then the config file (if any), then the flags given on the command line: the resolved config.
export function resolveConfig(
  options: OptionDef[],
  argv: Record<string, unknown>,
  configPath?: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) if (o.default !== undefined) out[o.key] = o.default;
  if (configPath) {
    const file = loadConfigFile(configPath, options);
    // Lists are checked here, after the schema: their errors name the key's line (the small file is parsed again).
    const at = (o: OptionDef) => `${o.type === 'numbers' ? locateKey(configPath, [o.key]) : configPath}: '${o.key}'`;
    for (const o of options) if (file[o.key] !== undefined) out[o.key] = checkValue(o, file[o.key], at(o));
  }
  for (const o of options) {
    const v = argv[o.key];
    if (v !== undefined) out[o.key] = checkValue(o, v, o.fileOnly ? o.key : `--${flagOf(o.key)}`);
  }
  return out;
}

// A run's config when it may resume: defaults, then the config the resumed run saved (`resume`/config.yaml), then
// the config file, then the flags; a resumed run writes into its own folder. `base` and `flags` say who set what.
export function resolveResumable<T extends { resume?: string; out?: string }>(
  options: OptionDef[],
  given: T & { config?: string },
): { cfg: T; flags: Omit<T, 'config'>; config: string | undefined; base: Record<string, unknown>; saved?: string } {
  const { config, ...flags } = given;
  const saved = flags.resume ? join(resolve(flags.resume), 'config.yaml') : undefined;
  const base = saved && existsSync(saved) ? loadConfigFile(saved, options) : {};
  const cfg = resolveConfig(options, { ...base, ...flags } as Record<string, unknown>, config) as T;
  if (flags.resume) cfg.out = resolve(flags.resume);
  return { cfg, flags, config, base, ...(saved ? { saved } : {}) };
}
