import type { RunTerm } from './types.js';
import { UserError } from '../util/errors.js';
import { importFolder } from '../util/registry.js';
import { termByName } from '../compiler/terms/index.js';
import type { MethodContext, MethodDef } from './types.js';

// Every method file in this folder, by name.
export const METHODS: Map<string, MethodDef> = new Map(
  (await importFolder(new URL('./', import.meta.url), (m) => m.method as MethodDef | undefined)).map((d) => [
    d.name,
    d,
  ]),
);

// The methods of `kd+at`, each looked up or a clear error listing the valid ones.
export function parseMethods(text: string): MethodDef[] {
  const names = text.split('+').map((s) => s.trim().toLowerCase());
  return names.map((n) => {
    const m = METHODS.get(n);
    if (!m)
      throw new UserError(
        `--method: unknown method '${n}'; choose from ${[...METHODS.keys()].join(', ')} (mix them with '+', e.g. kd+at)`,
      );
    return m;
  });
}

// What the mixed methods need of the teacher: trainable wins over frozen, frozen over none.
export function teacherMode(methods: MethodDef[]): MethodDef['teacher'] {
  if (methods.some((m) => m.teacher === 'trainable')) return 'trainable';
  return methods.some((m) => m.teacher === 'frozen') ? 'frozen' : 'none';
}

// The union of the presets' terms (a term name the first method already has keeps the first method's weight).
export function mixTerms(methods: MethodDef[], ctx: MethodContext): RunTerm[] {
  const out = new Map<string, RunTerm>();
  for (const m of methods) for (const t of m.terms(ctx)) if (!out.has(t.name)) out.set(t.name, t);
  return [...out.values()];
}

// --logit-standardize (arXiv 2403.01427): the KL-based terms (those with a `standardize` option: kd, kl, dkd, kdavg,
// gkd, ctkd) it selects z-score their logits before the temperature. '' or 'all' selects every one; otherwise a comma
// list of keys as --terms takes them (`kd`, `kl.student2`), each of which must select a KL-based term of the run
// (`strict`; a staged method's stages each take the keys that select their own terms).
export function standardizeTerms(terms: RunTerm[], select: string, strict = true): RunTerm[] {
  const kl = (t: RunTerm) => 'standardize' in termByName(t.term).defaults;
  const keys = ['', 'all'].includes(select.trim())
    ? undefined
    : select
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
  for (const k of strict ? (keys ?? []) : []) {
    if (!terms.some((t) => kl(t) && termMatches(k, t.name))) {
      throw new UserError(
        `--logit-standardize: '${k}' is not a KL-based term of this run; they are ${
          terms
            .filter(kl)
            .map((t) => t.name)
            .join(', ') || 'none'
        }`,
      );
    }
  }
  return terms.map((t) =>
    kl(t) && (!keys || keys.some((k) => termMatches(k, t.name)))
      ? { ...t, options: { ...t.options, standardize: 1 } }
      : t,
  );
}

// Does `--terms` key `key` select term `name`? `kd` selects kd and kd.student2; `kl.teacher` selects kl.teacher<-student1.
export function termMatches(key: string, name: string): boolean {
  return name === key || name.startsWith(`${key}.`) || name.startsWith(`${key}<-`);
}

// Apply `--terms ce=0.1,kd=0.9`: set the weight of every term each key selects; a key that selects nothing is an error.
export function applyTermWeights(terms: RunTerm[], weights: Record<string, number>): RunTerm[] {
  for (const key of Object.keys(weights)) {
    if (!terms.some((t) => termMatches(key, t.name))) {
      throw new UserError(
        `--terms: '${key}' is not a term of this run; its terms are ${terms.map((t) => t.name).join(', ')}`,
      );
    }
  }
  return terms.map((t) => {
    const key = Object.keys(weights)
      .filter((k) => termMatches(k, t.name))
      .sort((a, b) => b.length - a.length)[0];
    return key === undefined ? t : { ...t, weight: weights[key]! };
  });
}

// Parse `ce=0.1,kd=0.9`, naming the option on error.
export function parseTermWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const w = Number(v);
    if (!k || v === undefined || rest.length || v.trim() === '' || !Number.isFinite(w) || w < 0) {
      throw new UserError(`--terms: '${part}' is not name=weight with a weight ≥ 0 (e.g. ce=0.1,kd=0.9)`);
    }
    out[k.trim()] = w;
  }
  return out;
}
export type { MethodContext, MethodDef } from './types.js';
