import { FORMATS } from '../export/formats/index.js';
import type { ReportRow } from './types.js';

const ROLES = new Set(['teacher', 'student', 'ensemble']);
const COUNTS = ['sizeBytes', 'params', 'macs', 'latencyMsBatch1', 'latencyMsBatch32'] as const;

// Rows come from the distill/compress commands, not from the user: a bad one is a bug upstream, so it fails
// loudly with the row and field named rather than producing a report with a hole in it.
export function validateRows(rows: readonly ReportRow[]): void {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error(
      'report: no rows to report (give at least one evaluated model: the teacher or an exported student)',
    );
  }
  rows.forEach((r, i) => {
    const where = `report: row ${i} (${typeof r?.model === 'string' ? `'${r.model}'` : 'no model name'})`;
    if (typeof r?.model !== 'string' || !r.model) throw new Error(`${where}: model must be a non-empty string`);
    if (!ROLES.has(r.role))
      throw new Error(`${where}: role must be teacher, student or ensemble, got ${JSON.stringify(r.role)}`);
    if (!FORMATS.includes(r.format))
      throw new Error(`${where}: format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(r.format)}`);
    if (typeof r.file !== 'string') throw new Error(`${where}: file must be a string`);
    if (!(Number.isFinite(r.accuracy) && r.accuracy >= 0 && r.accuracy <= 1)) {
      const hint =
        Number.isFinite(r.accuracy) && r.accuracy > 1 && r.accuracy <= 100
          ? ` (a fraction: ${+(r.accuracy / 100).toPrecision(6)}, not a percentage)`
          : '';
      throw new Error(`${where}: accuracy must be a fraction in [0, 1], got ${r.accuracy}${hint}`);
    }
    for (const k of COUNTS) {
      if (!(Number.isFinite(r[k]) && r[k] >= 0))
        throw new Error(`${where}: ${k} must be a finite number >= 0, got ${r[k]}`);
    }
    if (r.top5 !== undefined && !(Number.isFinite(r.top5) && r.top5 >= 0 && r.top5 <= 1)) {
      throw new Error(`${where}: top5 must be a fraction in [0, 1], got ${r.top5}`);
    }
  });
}
