import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import type { OpenedSource, Sample } from '../types.js';

// Open a CSV (`path,label`) or JSONL (`{"path":..., "label":...}`) list; labels are class names or integers, paths relative to the list.
export function openList(file: string): OpenedSource {
  const base = dirname(resolve(file));
  const rows: { path: string; label: string }[] = [];
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (file.endsWith('.jsonl')) {
      let o: { path?: unknown; label?: unknown };
      try { o = JSON.parse(t) as typeof o; } catch { throw new UserError(`${file}:${i + 1}: not valid JSON`); }
      if (typeof o.path !== 'string' || o.label === undefined) throw new UserError(`${file}:${i + 1}: each line needs "path" and "label"`);
      rows.push({ path: o.path, label: String(o.label) });
      return;
    }
    const k = t.lastIndexOf(',');
    if (k < 0) throw new UserError(`${file}:${i + 1}: expected 'path,label'`);
    const [p, l] = [t.slice(0, k).trim(), t.slice(k + 1).trim()];
    if (i === 0 && /^path$/i.test(p) && /^label$/i.test(l)) return;
    rows.push({ path: p, label: l });
  });
  if (rows.length === 0) throw new UserError(`${file}: the list is empty`);
  const numeric = rows.every((r) => /^\d+$/.test(r.label));
  const classes = numeric
    ? Array.from({ length: Math.max(...rows.map((r) => Number(r.label))) + 1 }, (_, i) => String(i))
    : [...new Set(rows.map((r) => r.label))].sort();
  const samples: Sample[] = rows.map((r) => ({ path: resolve(base, r.path), label: numeric ? Number(r.label) : classes.indexOf(r.label) }));
  return { classes, train: { kind: 'files', samples }, description: `list ${file}` };
}
