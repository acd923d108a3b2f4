import { UserError } from '../../util/errors.js';
import { importFolder } from '../../util/registry.js';
import type { ExportFormat, Format } from './types.js';

export type { CalibrationRecord, ConvertJob, ConvertOptions, ExportFormat, Format } from './types.js';

// Every export format in this folder (one file each, `export const format`), in their `order`.
export const EXPORT_FORMATS: ReadonlyMap<Format, ExportFormat> = new Map(
  (await importFolder(new URL('./', import.meta.url), (m) => m.format as ExportFormat | undefined))
    .sort((a, b) => a.order - b.order)
    .map((f) => [f.name, f]),
);

// The format names `export --format` and `compress --formats` take, fp32 (the reference) first.
export const FORMATS: readonly Format[] = [...EXPORT_FORMATS.keys()];

// A format by name, or a UserError naming the option and the known formats.
export function formatNamed(name: string, option = '--format'): ExportFormat {
  const f = EXPORT_FORMATS.get(name);
  if (!f) throw new UserError(`${option}: unknown format '${name}'; choose one of ${FORMATS.join(', ')}`);
  return f;
}
