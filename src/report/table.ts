import { bytes, si, table } from '../util/format.js';
import type { ReportRow } from './types.js';
import { validateRows } from './validate.js';

// The report's one table, shared by the terminal and report.md so that both always show the same numbers.

interface Column {
  title: string;
  numeric: boolean;
  cell: (r: ReportRow) => string;
}

const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));

// The row the others are compared with: the fp32 teacher if there is one.
export function referenceTeacher(rows: readonly ReportRow[]): ReportRow | undefined {
  return rows.find((r) => r.role === 'teacher' && r.format === 'fp32') ?? rows.find((r) => r.role === 'teacher');
}

function columns(rows: readonly ReportRow[]): Column[] {
  const teacher = referenceTeacher(rows);
  const cols: Column[] = [
    { title: 'Model', numeric: false, cell: (r) => r.model },
    { title: 'Role', numeric: false, cell: (r) => r.role },
    { title: 'Format', numeric: false, cell: (r) => r.format },
    { title: 'Top-1', numeric: true, cell: (r) => percent(r.accuracy) },
  ];
  if (teacher) {
    cols.push({
      title: 'vs teacher',
      numeric: true,
      cell: (r) => {
        if (r === teacher) return '';
        const d = 100 * (r.accuracy - teacher.accuracy);
        return `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(2)} pt`;
      },
    });
  }
  if (rows.some((r) => r.top5 !== undefined))
    cols.push({ title: 'Top-5', numeric: true, cell: (r) => (r.top5 === undefined ? '' : percent(r.top5)) });
  cols.push(
    { title: 'Size', numeric: true, cell: (r) => bytes(r.sizeBytes) },
    { title: 'Params', numeric: true, cell: (r) => si(r.params) },
    { title: 'MACs', numeric: true, cell: (r) => si(r.macs) },
    { title: 'ms @1', numeric: true, cell: (r) => ms(r.latencyMsBatch1) },
    { title: 'ms @32', numeric: true, cell: (r) => ms(r.latencyMsBatch32) },
    { title: 'File', numeric: false, cell: (r) => r.file },
  );
  return cols;
}

// The rows as aligned text lines for the terminal (numbers right-aligned), header first.
export function formatTable(rows: readonly ReportRow[]): string {
  validateRows(rows);
  const cols = columns(rows);
  const cells = [cols.map((c) => c.title), ...rows.map((r) => cols.map((c) => c.cell(r)))];
  const widths = cols.map((_, j) => Math.max(...cells.map((line) => line[j]!.length)));
  const aligned = cells.map((line) => line.map((v, j) => (cols[j]!.numeric ? v.padStart(widths[j]!) : v)));
  return table(aligned).join('\n');
}

// The rows as a GitHub-flavoured Markdown table (with the notes column when any row has notes).
export function markdownTable(rows: readonly ReportRow[]): string {
  validateRows(rows);
  const cols = columns(rows);
  if (rows.some((r) => r.notes)) cols.push({ title: 'Notes', numeric: false, cell: (r) => r.notes ?? '' });
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const line = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [
    line(cols.map((c) => c.title)),
    `|${cols.map((c) => (c.numeric ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((r) => line(cols.map((c) => (c.title === 'File' && r.file ? `\`${r.file}\`` : c.cell(r))))),
  ].join('\n');
}
