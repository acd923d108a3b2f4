import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../../util/errors.js';
import { UNLABELED, type OpenedSource, type Sample } from '../types.js';

interface Row {
  path: string;
  // Undefined on a row without a label (an unlabeled list: `path` alone).
  label: string | undefined;
  line: number;
}

// CSV rows `path,label` or `path` alone (RFC 4180 quoting, so paths may hold commas; an optional `path,label` or
// `path` header; `#` comments).
function csvRows(file: string, text: string): Row[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      skip_empty_lines: true,
      comment: '#',
      trim: true,
      relax_column_count: true,
      info: true,
    }) as unknown as typeof records;
  } catch (err: unknown) {
    throw new UserError(`${file}: not a valid CSV list (${err instanceof Error ? err.message : String(err)})`);
  }
  return records.flatMap(({ record, info }, i) => {
    if (i === 0 && /^path$/i.test(record[0] ?? '') && (record.length === 1 || /^label$/i.test(record[1] ?? '')))
      return [];
    if (record.length > 2 || !record[0])
      throw new UserError(`${file}:${info.lines}: expected 'path,label' or 'path' (quote paths that contain commas)`);
    return [{ path: record[0], label: record[1] || undefined, line: info.lines }];
  });
}

// JSONL rows `{"path": ..., "label": ...}` (label optional), one object per line.
function jsonlRows(file: string, text: string): Row[] {
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    let o: { path?: unknown; label?: unknown };
    try {
      o = JSON.parse(t) as typeof o;
    } catch {
      throw new UserError(`${file}:${i + 1}: not valid JSON`);
    }
    if (
      typeof o.path !== 'string' ||
      (o.label !== undefined && o.label !== null && typeof o.label !== 'string' && typeof o.label !== 'number')
    ) {
      throw new UserError(
        `${file}:${i + 1}: each line needs a string "path" and may have a "label" (class name or index)`,
      );
    }
    rows.push({
      path: o.path,
      label: o.label === undefined || o.label === null ? undefined : String(o.label),
      line: i + 1,
    });
  });
  return rows;
}

// Open a CSV or JSONL list of images; labels are all class names or all integers, paths relative to the list. A list
// without labels (or any list, with `unlabeled`) is unlabeled data; one with labels on some rows only is an error.
export function openList(file: string, opts: { unlabeled?: boolean } = {}): OpenedSource {
  const base = dirname(resolve(file));
  const text = readFileSync(file, 'utf8');
  const all = file.toLowerCase().endsWith('.jsonl') ? jsonlRows(file, text) : csvRows(file, text);
  if (all.length === 0) throw new UserError(`${file}: the list is empty`);
  if (opts.unlabeled || all.every((r) => r.label === undefined)) {
    const samples = all.map((r) => ({ path: resolve(base, r.path), label: UNLABELED }));
    return {
      classes: [],
      unlabeled: true,
      train: { kind: 'files', samples },
      description: `unlabeled list ${file}${opts.unlabeled ? ' (--unlabeled)' : ''}`,
    };
  }
  const bare = all.find((r) => r.label === undefined);
  if (bare)
    throw new UserError(
      `${file}:${bare.line}: this row has no label but others have one`,
      "label every row, or pass --unlabeled to distil from the images alone (--pseudo-labels then trains CE on the teacher's predictions)",
    );
  const rows = all as (Row & { label: string })[];
  const numeric = rows.every((r) => /^\d+$/.test(r.label));
  const stray = numeric ? undefined : rows.find((r) => /^\d+$/.test(r.label));
  if (stray)
    throw new UserError(
      `${file}:${stray.line}: label '${stray.label}' is a number but other labels are class names; use one kind throughout`,
    );
  const classes = numeric
    ? Array.from({ length: Math.max(...rows.map((r) => Number(r.label))) + 1 }, (_, i) => String(i))
    : [...new Set(rows.map((r) => r.label))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const samples: Sample[] = rows.map((r) => ({
    path: resolve(base, r.path),
    label: numeric ? Number(r.label) : index.get(r.label)!,
  }));
  return { classes, train: { kind: 'files', samples }, description: `list ${file}` };
}
