import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import { configSchema, parseYamlFile, resolvePaths } from '../config/file.js';
import { UserError } from '../util/errors.js';
import { kindOf, loadKinds } from './kind.js';

// A pipeline file: shared `defaults`, a list of `jobs` and/or a `matrix` of values to expand over any keys.
//   defaults: { command: distill, student: zoo:cnn, epochs: 2 }
//   matrix: { method: [kd, dml], seed: [0, 1] }        -> 4 jobs
//   jobs: [{ method: fitnet }]                         -> 1 more
// Each job is one config of its `command` (distill unless given), validated against that command's option table.

// One job of a pipeline, ready to run.
export interface PipelineJob {
  // A hash of the command and the resolved config: the same job always gets the same id (and folder).
  id: string;
  command: string;
  // Every option with its default filled in and paths absolute; no `out`, which the pipeline sets.
  config: Record<string, unknown>;
  // The keys the pipeline file set for this job (defaults, matrix, entry), to group jobs in the report.
  given: string[];
  // Where it came from, for messages: `jobs[1]` or `matrix {method: kd, seed: 0}`.
  source: string;
}

export interface Pipeline {
  file: string;
  jobs: PipelineJob[];
}

const STRUCTURE = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaults: { type: 'object' },
    jobs: { type: 'array', minItems: 1, items: { type: 'object' } },
    matrix: { type: 'object', minProperties: 1, additionalProperties: { type: 'array', minItems: 1 } },
  },
  anyOf: [{ required: ['jobs'] }, { required: ['matrix'] }],
};

// Keys the id leaves out: how a job is executed, not what it computes (threads are set per machine).
const EXECUTION_KEYS = new Set(['threads']);

type Entry = Record<string, unknown>;

// Every combination of the matrix values, in key order with the last key varying fastest.
export function expandMatrix(matrix: Record<string, unknown[]>): Entry[] {
  return Object.entries(matrix).reduce<Entry[]>(
    (combos, [key, values]) => combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))),
    [{}],
  );
}

// JSON with object keys sorted at every level, so equal configs hash equally whatever order their keys were written in.
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Entry)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

// The stable id of a job: 12 hex digits of the SHA-256 of its command and resolved config.
export function jobId(command: string, config: Entry): string {
  const kept = Object.fromEntries(Object.entries(config).filter(([k]) => !EXECUTION_KEYS.has(k)));
  return createHash('sha256')
    .update(canonical({ command, config: kept }))
    .digest('hex')
    .slice(0, 12);
}

// Read, validate and expand a pipeline file; errors name the file, the line and the key.
export async function loadPipelineFile(path: string): Promise<Pipeline> {
  const file = resolve(path);
  const { value, doc, lines } = parseYamlFile(file, 'pipeline');
  const lineOf = (at: (string | number)[]): string => {
    const node = doc.getIn(at, true) as { range?: [number, number] } | undefined;
    return node?.range ? `:${lines.linePos(node.range[0]).line}` : '';
  };
  const ajv = new Ajv({ allErrors: false });
  const structure = ajv.compile(STRUCTURE);
  if (!structure(value)) throw structureError(file, structure.errors![0]!, doc, lines);
  const p = value as { defaults?: Entry; jobs?: Entry[]; matrix?: Record<string, unknown[]> };
  const defaults = p.defaults ?? {};
  const entries: { entry: Entry; source: string; origin: (key: string) => (string | number)[] }[] = [
    ...(p.matrix
      ? expandMatrix(p.matrix).map((combo) => ({
          entry: combo,
          source: `matrix {${Object.entries(combo)
            .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
            .join(', ')}}`,
          origin: (key: string) => (key in combo ? ['matrix', key] : ['defaults', key]),
        }))
      : []),
    ...(p.jobs ?? []).map((entry, i) => ({
      entry,
      source: `jobs[${i}]`,
      origin: (key: string) => (key in entry ? ['jobs', i, key] : ['defaults', key]),
    })),
  ];
  const kinds = await loadKinds();
  const validators = new Map<string, ReturnType<Ajv['compile']>>();
  const base = dirname(file);
  const jobs: PipelineJob[] = [];
  const seen = new Map<string, string>();
  for (const { entry, source, origin } of entries) {
    const merged = { ...defaults, ...entry };
    const { command = 'distill', ...config } = merged;
    if (typeof command !== 'string')
      throw new UserError(`${file}${lineOf(origin('command'))}: ${source}: 'command' must be a string`);
    const kind = kindOf(kinds, command, `${file}${lineOf(origin('command'))}: ${source}`);
    for (const key of ['out', 'resume']) {
      if (key in config)
        throw new UserError(
          `${file}${lineOf(origin(key))}: ${source}: '${key}' is set by the pipeline`,
          `each job writes to <--out>/<job id>/ and resumes from there by itself`,
        );
    }
    let validate = validators.get(command);
    if (!validate) validators.set(command, (validate = ajv.compile(configSchema(kind.options))));
    if (!validate(config))
      throw jobError(
        file,
        source,
        validate.errors![0]!,
        kind.options.map((o) => o.key),
        (key) => lineOf(origin(key)),
      );
    const resolved = kind.resolve(resolvePaths(config, base));
    const id = jobId(command, resolved);
    const twin = seen.get(id);
    if (twin)
      throw new UserError(
        `${file}: ${source} and ${twin} are the same job (id ${id})`,
        'give them different values (a seed, say), or drop one',
      );
    seen.set(id, source);
    jobs.push({ id, command, config: resolved, given: Object.keys(merged), source });
  }
  return { file, jobs };
}

function structureError(file: string, e: ErrorObject, doc: Document.Parsed, lines: LineCounter): UserError {
  const at = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const node = at.length ? (doc.getIn(at, true) as { range?: [number, number] } | undefined) : undefined;
  const where = `${file}${node?.range ? `:${lines.linePos(node.range[0]).line}` : ''}`;
  const shape =
    'a pipeline file has `defaults:` (a mapping), `jobs:` (a list of mappings) and/or `matrix:` (a mapping of key: [values])';
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const pair = (
      doc.contents as { items?: { key?: { value?: unknown; range?: [number, number] } }[] } | null
    )?.items?.find((i) => i.key?.value === key);
    const line = pair?.key?.range ? `:${lines.linePos(pair.key.range[0]).line}` : '';
    return new UserError(`${file}${line}: unknown key '${key}'`, shape);
  }
  if (
    e.keyword === 'anyOf' ||
    (e.keyword === 'required' && at.length === 0) ||
    (e.keyword === 'type' && at.length === 0)
  )
    return new UserError(`${where}: no jobs: give \`jobs:\` or \`matrix:\``, shape);
  return new UserError(`${where}: '${at.join('.')}' ${e.message ?? 'is not valid'}`, shape);
}

function jobError(
  file: string,
  source: string,
  e: ErrorObject,
  known: string[],
  lineOf: (key: string) => string,
): UserError {
  const key =
    e.keyword === 'additionalProperties'
      ? String((e.params as { additionalProperty: string }).additionalProperty)
      : (e.instancePath.split('/')[1] ?? '');
  if (e.keyword === 'additionalProperties')
    return new UserError(
      `${file}${lineOf(key)}: ${source}: unknown key '${key}'`,
      `valid keys: command, ${known.join(', ')}`,
    );
  const allowed =
    e.keyword === 'enum' ? ` (${(e.params as { allowedValues: string[] }).allowedValues.join(', ')})` : '';
  return new UserError(`${file}${lineOf(key)}: ${source}: '${key}' ${e.message ?? 'is not valid'}${allowed}`);
}
