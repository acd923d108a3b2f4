import { join } from 'node:path';
import { pipelineSpec, renderPng } from '../report/index.js';
import { table } from '../util/format.js';
import { writeFileAtomic } from '../util/fs.js';
import type { JobOutcome, JobState } from './job.js';
import type { Pipeline, PipelineJob } from './spec.js';

// Mean and sample standard deviation (n − 1; 0 for a single value) over the finished jobs of a group.
export interface Stat {
  mean: number;
  std: number;
}

// One row of pipeline-report.json: the jobs that differ only in their seed, summarised.
export interface GroupRow {
  group: Record<string, unknown>;
  jobs: number;
  seeds: number[];
  failed: number;
  bestValAcc: Stat | null;
  lastValAcc: Stat | null;
  wallSeconds: { mean: number } | null;
}

// One job as the report lists it.
export interface JobRow {
  id: string;
  source: string;
  group: Record<string, unknown>;
  seed: number;
  state: JobState | 'pending';
  dir: string;
  error?: string;
  bestValAcc?: number;
  lastValAcc?: number;
  wallSeconds?: number;
}

export interface PipelineReport {
  file: string;
  rows: GroupRow[];
  jobs: JobRow[];
}

// Keys that say how a job ran rather than what it computed; never a group.
const NOT_GROUPS = new Set(['seed', 'threads', 'device']);

// The keys that define a group: every key the file set for any job except the seed (and `command` when all jobs
// share it), with each job's resolved value, so jobs that differ only in their seed fall into one row.
function groupKeys(jobs: PipelineJob[]): string[] {
  const keys = new Set(jobs.flatMap((j) => j.given).filter((k) => !NOT_GROUPS.has(k)));
  if (new Set(jobs.map((j) => j.command)).size <= 1) keys.delete('command');
  return [...keys];
}

function stat(vs: number[]): Stat | null {
  if (!vs.length) return null;
  const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
  const std = vs.length > 1 ? Math.sqrt(vs.reduce((a, v) => a + (v - mean) ** 2, 0) / (vs.length - 1)) : 0;
  return { mean, std };
}

// The aggregated report of a pipeline from each job's outcome (jobs without one are `pending`).
export function aggregate(p: Pipeline, out: string, outcomes: Map<string, JobOutcome>): PipelineReport {
  const keys = groupKeys(p.jobs);
  const jobs: JobRow[] = p.jobs.map((j) => {
    const o = outcomes.get(j.id);
    const group = Object.fromEntries(keys.map((k) => [k, k === 'command' ? j.command : (j.config[k] ?? null)]));
    return {
      id: j.id,
      source: j.source,
      group,
      seed: Number(j.config.seed ?? 0),
      state: o?.state ?? 'pending',
      dir: join(out, j.id),
      ...(o?.error ? { error: o.error } : {}),
      ...(o?.metrics ?? {}),
    };
  });
  const byGroup = new Map<string, JobRow[]>();
  for (const j of jobs) {
    const k = JSON.stringify(j.group);
    byGroup.set(k, [...(byGroup.get(k) ?? []), j]);
  }
  const rows = [...byGroup.values()].map((js): GroupRow => {
    const ok = js.filter((j) => j.state === 'done' || j.state === 'skipped');
    const wall = stat(ok.map((j) => j.wallSeconds!));
    return {
      group: js[0]!.group,
      jobs: js.length,
      seeds: js.map((j) => j.seed),
      failed: js.filter((j) => j.state === 'failed').length,
      bestValAcc: stat(ok.flatMap((j) => (j.bestValAcc === undefined ? [] : [j.bestValAcc]))),
      lastValAcc: stat(ok.flatMap((j) => (j.lastValAcc === undefined ? [] : [j.lastValAcc]))),
      wallSeconds: wall ? { mean: wall.mean } : null,
    };
  });
  return { file: p.file, rows, jobs };
}

// The group keys worth showing: those whose value differs between rows (all of them when none does).
function shownKeys(r: PipelineReport): string[] {
  const all = Object.keys(r.rows[0]?.group ?? {});
  const varying = all.filter((k) => new Set(r.rows.map((row) => JSON.stringify(row.group[k]))).size > 1);
  return varying.length ? varying : all;
}

const value = (v: unknown) => (Array.isArray(v) ? v.join('+') : String(v));
const labelOf = (keys: string[]) => (group: Record<string, unknown>) =>
  keys.map((k) => `${k} ${value(group[k])}`).join(', ') || 'all jobs';
const pct = (s: Stat | null) => (s ? `${(100 * s.mean).toFixed(2)}% ± ${(100 * s.std).toFixed(2)}` : '-');

// The group table as text lines (the terminal and pipeline-report.md show the same numbers); a key with the same
// value in every row (the data, the teacher...) is left out of the table, not of pipeline-report.json.
export function reportTable(r: PipelineReport): string[][] {
  const keys = shownKeys(r);
  return [
    [...keys, 'jobs', 'seeds', 'failed', 'best val acc', 'last val acc', 'wall s'],
    ...r.rows.map((row) => [
      ...keys.map((k) => {
        const v = row.group[k];
        return Array.isArray(v) ? v.join(' ') : String(v);
      }),
      String(row.jobs),
      row.seeds.join(' '),
      String(row.failed),
      pct(row.bestValAcc),
      pct(row.lastValAcc),
      row.wallSeconds ? row.wallSeconds.mean.toFixed(1) : '-',
    ]),
  ];
}

// pipeline-report.json, pipeline-report.md and pipeline-report.png (when a job finished) in the pipeline's --out.
export async function writePipelineReport(
  out: string,
  r: PipelineReport,
  log: (line: string) => void,
): Promise<string[]> {
  const files = [join(out, 'pipeline-report.json'), join(out, 'pipeline-report.md')];
  writeFileAtomic(files[0]!, JSON.stringify(r, null, 2));
  const t = reportTable(r);
  const md = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const failed = r.jobs.filter((j) => j.state === 'failed');
  const lines = [
    `# Pipeline report`,
    '',
    `Pipeline \`${r.file}\`: ${r.jobs.length} jobs, ${r.jobs.filter((j) => j.state === 'done' || j.state === 'skipped').length} finished, ${failed.length} failed.`,
    'Accuracies are mean ± sample std over the finished jobs of each group (the jobs that differ only in their seed).',
    '',
    md(t[0]!),
    md(t[0]!.map(() => '---')),
    ...t.slice(1).map(md),
    '',
    ...(failed.length
      ? [
          '## Failed jobs',
          '',
          ...failed.map(
            (j) => `- \`${j.id}\` (${j.source}): ${j.error ?? 'failed'} — log: \`${join(j.dir, 'job.log')}\``,
          ),
          '',
        ]
      : []),
    '## Jobs',
    '',
    md(['id', 'source', 'state', 'best val acc', 'wall s']),
    md(['---', '---', '---', '---', '---']),
    ...r.jobs.map((j) =>
      md([
        j.id,
        j.source,
        j.state,
        j.bestValAcc === undefined ? '-' : `${(100 * j.bestValAcc).toFixed(2)}%`,
        j.wallSeconds === undefined ? '-' : j.wallSeconds.toFixed(1),
      ]),
    ),
    '',
  ];
  const label = labelOf(shownKeys(r));
  const groups = r.rows
    .filter((row) => row.bestValAcc)
    .map((row) => ({ label: label(row.group), mean: row.bestValAcc!.mean, std: row.bestValAcc!.std }));
  if (groups.length) {
    const png = join(out, 'pipeline-report.png');
    try {
      const points = r.jobs
        .filter((j) => j.bestValAcc !== undefined)
        .map((j) => ({ label: label(j.group), value: j.bestValAcc! }));
      await renderPng(pipelineSpec(groups, points), png);
      lines.splice(5, 0, `![best validation accuracy per group](pipeline-report.png)`, '');
      files.push(png);
    } catch (err: unknown) {
      log(`warning: could not draw ${png}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  writeFileAtomic(files[1]!, lines.join('\n'));
  return files;
}

// The table for the terminal.
export function formatReport(r: PipelineReport): string[] {
  return table(reportTable(r));
}
