import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { type Document, LineCounter, parseDocument, stringify } from 'yaml';
import { UserError } from '../util/errors.js';
import type { OptionDef } from './options.js';

// The JSON Schema of a run config: one property per option, nothing else allowed.
export function configSchema(options: OptionDef[]): object {
  const prop = (o: OptionDef): object => {
    switch (o.type) {
      case 'string': return { type: 'string', ...(o.choices ? { enum: o.choices } : {}) };
      case 'boolean': return { type: 'boolean' };
      case 'number': return { type: o.integer ? 'integer' : 'number', ...(o.positive ? { exclusiveMinimum: 0 } : {}) };
      case 'strings': return { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] };
      case 'terms': return { anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'number', minimum: 0 } }] };
    }
  };
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(options.map((o) => [o.key, prop(o)])) };
}

// Keys whose values are paths: resolved relative to the config file, unless a zoo/slim spec or a named dataset.
const PATH_KEYS = new Set(['data', 'teacher', 'student', 'out', 'resume', 'saveArtifacts', 'teacherCache']);
const NOT_PATHS = /^(zoo:|slim:|fashion-mnist$|mnist$)/;
// Words a path key also takes (`teacherCache: auto`), never resolved as paths.
const WORDS: Record<string, string[]> = { teacherCache: ['auto', 'off'] };

// Path keys of a config read from a file made absolute against the file's folder (shared with pipeline files).
export function resolvePaths(cfg: Record<string, unknown>, base: string): Record<string, unknown> {
  const fix = (k: string) => (v: unknown) => (typeof v === 'string' && !NOT_PATHS.test(v) && !WORDS[k]?.includes(v) && !isAbsolute(v) ? resolve(base, v) : v);
  return Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, PATH_KEYS.has(k) ? (Array.isArray(v) ? v.map(fix(k)) : fix(k)(v)) : v]));
}

// A YAML file parsed as plain data (no custom tags, unique keys), syntax errors as `file:line: message`; the
// document and line counter come back too so that schema errors can name the line of the key they are about.
export function parseYamlFile(path: string, flag: string): { value: unknown; doc: Document.Parsed; lines: LineCounter } {
  if (!existsSync(path)) throw new UserError(`${flag}: ${path}: no such file`);
  const text = readFileSync(path, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, customTags: [], uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    throw new UserError(`${path}:${pos.line}: ${problem.message.split('\n')[0]}`);
  }
  return { value: doc.toJS({ maxAliasCount: 50 }) as unknown, doc, lines };
}

// Read a YAML run config: plain data only (no custom tags), validated against the options; errors name file, line, key.
export function loadConfigFile(path: string, options: OptionDef[]): Record<string, unknown> {
  const { value, doc, lines } = parseYamlFile(path, '--config');
  if (value === null || value === undefined) return {};
  const lineOf = (key: string | undefined): string => {
    const node = key === undefined ? undefined : doc.getIn([key], true) as { range?: [number, number] } | undefined;
    const pair = key === undefined ? undefined : (doc.contents as { items?: { key?: { value?: unknown; range?: [number, number] } }[] } | null)?.items?.find((i) => i.key?.value === key);
    const offset = pair?.key?.range?.[0] ?? node?.range?.[0];
    return offset === undefined ? '' : `:${lines.linePos(offset).line}`;
  };
  const ajv = new Ajv({ allErrors: false });
  const validate = ajv.compile(configSchema(options));
  if (!validate(value)) {
    const e = validate.errors![0]! as ErrorObject;
    if (e.keyword === 'type' && e.instancePath === '') throw new UserError(`${path}: a config is a mapping of option names to values`);
    const key = e.keyword === 'additionalProperties' ? String((e.params as { additionalProperty: string }).additionalProperty) : e.instancePath.split('/')[1];
    const known = options.map((o) => o.key).join(', ');
    if (e.keyword === 'additionalProperties') throw new UserError(`${path}${lineOf(key)}: unknown key '${key}'`, `valid keys: ${known}`);
    throw new UserError(`${path}${lineOf(key)}: '${key}' ${e.message ?? 'is not valid'}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: string[] }).allowedValues.join(', ')})` : ''}`);
  }
  return resolvePaths(value as Record<string, unknown>, dirname(resolve(path)));
}

// The resolved config as YAML (for --print-config), keys in table order, unset options left out.
export function configToYaml(cfg: Record<string, unknown>): string {
  return stringify(Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)));
}
