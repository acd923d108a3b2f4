import { UserError } from '../../util/errors.js';
import { importFolder } from '../../util/registry.js';
import type { OptimizerDef } from './types.js';

// Every optimizer file in this folder, by name.
export const OPTIMIZERS: Map<string, OptimizerDef> = new Map(
  (await importFolder(new URL('./', import.meta.url), (m) => m.optimizer as OptimizerDef | undefined)).map((o) => [
    o.name,
    o,
  ]),
);

// Look up an optimizer by name or fail naming the option.
export function optimizerByName(name: string): OptimizerDef {
  const o = OPTIMIZERS.get(name.toLowerCase());
  if (!o)
    throw new UserError(`--optimizer: unknown optimizer '${name}'; choose one of ${[...OPTIMIZERS.keys()].join(', ')}`);
  return o;
}
export type { OptimizerDef, GroupHyper, StepScalars } from './types.js';
