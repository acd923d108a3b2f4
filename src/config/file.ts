import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { type Document, isScalar, LineCounter, parseDocument, stringify, visit } from 'yaml';
import { UserError } from '../util/errors.js';
import { STAGE_KEYS, stageOptionDefs, type OptionDef } from './options.js';

// The JSON Schema of a run config: one property per option, nothing else allowed.
export function configSchema(options: OptionDef[]): object {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(options.map((o) => [o.key, optionSchema(o)])),
  };
}

// The schema of one option's value; `stages` is a mapping of stage name to the stage keys (checked as their options).
function optionSchema(o: OptionDef): object {
  const min = o.positive ? { exclusiveMinimum: 0 } : o.nonNegative ? { minimum: 0 } : {};
  switch (o.type) {
    case 'string':
      return { type: 'string', ...(o.choices ? { enum: o.choices } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return { type: o.integer ? 'integer' : 'number', ...min, ...(o.max !== undefined ? { maximum: o.max } : {}) };
    // A list of numbers: `0.08,1`, a YAML list, or one bare number; lengths and bounds are checked with the value.
    case 'numbers':
      return {
        anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'array', items: { type: 'number' }, minItems: 1 }],
      };
    case 'strings':
      return { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] };
    case 'terms':
      return { anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'number', minimum: 0 } }] };
    case 'stages':
      return { type: 'object', additionalProperties: stageSchema() };
  }
}

// The schema of one `stages:` entry.
export function stageSchema(): object {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(stageOptionDefs().map((o) => [o.key, optionSchema(o)])),
  };
}

// Keys whose values are paths: resolved relative to the config file, unless a zoo/slim spec or a named dataset.
const PATH_KEYS = new Set(['data', 'valData', 'teacher', 'student', 'out', 'resume', 'saveArtifacts', 'teacherCache']);
const NOT_PATHS = /^(zoo:|slim:|fashion-mnist$|mnist$)/;
// Words a path key also takes (`teacherCache: auto`), never resolved as paths.
const WORDS: Record<string, string[]> = { teacherCache: ['auto', 'off'] };

// Path keys of a config read from a file made absolute against the file's folder (shared with pipeline files).
export function resolvePaths(cfg: Record<string, unknown>, base: string): Record<string, unknown> {
  const fix = (k: string) => (v: unknown) =>
    typeof v === 'string' && !NOT_PATHS.test(v) && !WORDS[k]?.includes(v) && !isAbsolute(v) ? resolve(base, v) : v;
  return Object.fromEntries(
    Object.entries(cfg).map(([k, v]) => [k, PATH_KEYS.has(k) ? (Array.isArray(v) ? v.map(fix(k)) : fix(k)(v)) : v]),
  );
}

// Limits on a config or pipeline file (YAML or JSON): a real one is a few kB with no aliases to speak of; the limits
// turn a hostile file (a 5 MB mapping, an alias bomb) into a prompt UserError instead of minutes of CPU or a crash.
export const YAML_LIMITS = { bytes: 1_000_000, aliases: 100 } as const;

// A YAML file parsed as plain data (no custom tags, unique keys), syntax errors as `file:line: message`; the
// document and line counter come back too so that schema errors can name the line of the key they are about.
export function parseYamlFile(
  path: string,
  flag: string,
): { value: unknown; doc: Document.Parsed; lines: LineCounter } {
  if (!existsSync(path)) throw new UserError(`${flag}: ${path}: no such file`);
  if (!statSync(path).isFile()) throw new UserError(`${flag}: ${path}: not a file`);
  const size = statSync(path).size;
  if (size > YAML_LIMITS.bytes)
    throw new UserError(
      `${path}: ${size} bytes; a config or pipeline file may have at most ${YAML_LIMITS.bytes} bytes (1 MB)`,
    );
  const text = readFileSync(path, 'utf8');
  const lines = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every earlier one (40,000 keys: 9 s); uniqueKeys() is linear.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, customTags: [], uniqueKeys: false });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    throw new UserError(`${path}:${pos.line}: ${problem.message.split('\n')[0]}`);
  }
  uniqueKeys(
    doc,
    (offset, key) =>
      new UserError(`${path}:${lines.linePos(offset).line}: the key '${key}' appears twice in one mapping`),
  );
  try {
    return { value: doc.toJS({ maxAliasCount: YAML_LIMITS.aliases }) as unknown, doc, lines };
  } catch (err: unknown) {
    if (err instanceof ReferenceError)
      throw new UserError(
        `${path}: ${/alias/i.test(err.message) ? `its aliases expand too far (more than ${YAML_LIMITS.aliases} per node: an alias bomb?)` : err.message}`,
        'write the values out instead of through aliases',
        { cause: err },
      );
    throw err;
  }
}

// Throw `fail(offset, key)` for the first key that a mapping of the document repeats: one Set per mapping, linear.
function uniqueKeys(doc: Document.Parsed, fail: (offset: number, key: string) => Error): void {
  visit(doc, {
    Map(_k, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key as { value?: unknown; range?: [number, number] } | null;
        const name = isScalar(k) ? String(k.value) : JSON.stringify(k);
        if (seen.has(name)) throw fail(k?.range?.[0] ?? 0, name);
        seen.add(name);
      }
    },
  });
}

// Read a YAML run config: plain data only (no custom tags), validated against the options; errors name file, line, key.
export function loadConfigFile(path: string, options: OptionDef[]): Record<string, unknown> {
  const { value, doc, lines } = parseYamlFile(path, '--config');
  if (value === null || value === undefined) return {};
  const ajv = new Ajv({ allErrors: false });
  const validate = ajv.compile(configSchema(options));
  if (!validate(value)) {
    const e = validate.errors![0]! as ErrorObject;
    if (e.keyword === 'type' && e.instancePath === '')
      throw new UserError(`${path}: a config is a mapping of option names to values`);
    const at = e.instancePath.split('/').slice(1);
    if (e.keyword === 'additionalProperties') {
      const key = [...at, String((e.params as { additionalProperty: string }).additionalProperty)];
      const valid =
        at.length === 0 ? options.map((o) => o.key) : at.length === 2 && at[0] === 'stages' ? [...STAGE_KEYS] : [];
      throw new UserError(
        `${path}${lineOfKey(doc, lines, key)}: unknown key '${key.join('.')}'`,
        valid.length ? `valid keys${at.length ? ` of a stage` : ''}: ${valid.join(', ')}` : undefined,
      );
    }
    // A `terms` mapping or a `student` list: name the option, not the entry inside it.
    const key = at.slice(0, at[0] === 'stages' ? 3 : 1);
    const allowed =
      e.keyword === 'enum' ? ` (${(e.params as { allowedValues: string[] }).allowedValues.join(', ')})` : '';
    throw new UserError(
      `${path}${lineOfKey(doc, lines, key)}: '${key.join('.')}' ${e.message ?? 'is not valid'}${allowed}`,
    );
  }
  return resolvePaths(value as Record<string, unknown>, dirname(resolve(path)));
}

// `:<line>` of a key (a path of mapping keys, e.g. stages.heads.lr) in a parsed YAML document; '' when not found.
function lineOfKey(doc: Document, lines: LineCounter, key: string[]): string {
  if (!key.length) return '';
  const parent = key.length === 1 ? doc.contents : doc.getIn(key.slice(0, -1), true);
  const pair = (parent as { items?: { key?: { value?: unknown; range?: [number, number] } }[] } | null)?.items?.find(
    (i) => i.key?.value === key[key.length - 1],
  );
  const node = doc.getIn(key, true) as { range?: [number, number] } | undefined;
  const offset = pair?.key?.range?.[0] ?? node?.range?.[0];
  return offset === undefined ? '' : `:${lines.linePos(offset).line}`;
}

// `file:line` of a key in a config file (for errors found after the file was read: an unknown stage name, say).
export function locateKey(path: string, key: string[]): string {
  const { doc, lines } = parseYamlFile(path, '--config');
  return `${path}${lineOfKey(doc, lines, key)}`;
}

// The resolved config as YAML (for --print-config), keys in table order, unset options left out.
export function configToYaml(cfg: Record<string, unknown>): string {
  return stringify(Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)));
}
