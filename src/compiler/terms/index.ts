import { UserError } from '../../util/errors.js';
import { importFolder } from '../../util/registry.js';
import type { LossTermDef } from './types.js';

// Every loss term file in this folder, by name.
export const TERMS: Map<string, LossTermDef> = new Map(
  (await importFolder(new URL('./', import.meta.url), (m) => m.term as LossTermDef | undefined)).map((t) => [
    t.name,
    t,
  ]),
);

// Look up a term by name or fail naming it.
export function termByName(name: string): LossTermDef {
  const t = TERMS.get(name);
  if (!t) throw new UserError(`unknown loss term '${name}'; known terms: ${[...TERMS.keys()].join(', ')}`);
  return t;
}
export type { LossTermDef, TermInputs } from './types.js';

// The value a term's scheduled scalar input takes in an epoch (counted from 0): what the host feeds `in_<use>.<key>`.
export function termInputAt(e: { term: string; key: string; options: Record<string, number> }, epoch: number): number {
  const f = termByName(e.term).inputs?.[e.key];
  if (!f) throw new Error(`term '${e.term}' has no input '${e.key}'`);
  return f(epoch, e.options);
}
