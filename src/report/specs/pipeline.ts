import type { TopLevelSpec } from 'vega-lite';
import { plotConfig, SERIES_COLORS } from './theme.js';

// One bar per group of a batch pipeline (a combination of the non-seed keys).
export interface PipelineGroupPoint {
  label: string;
  mean: number;
  std: number;
}

// One finished job, drawn as a dot over its group's bar.
export interface PipelineJobPoint {
  label: string;
  value: number;
}

// Best validation accuracy per group: the mean over seeds as a bar, ±1 std as an error bar, each seed as a dot, so
// that a difference between groups can be read against the spread between seeds.
export function pipelineSpec(
  groups: PipelineGroupPoint[],
  jobs: PipelineJobPoint[],
  o: { title?: string; metric?: string } = {},
): TopLevelSpec {
  if (!groups.length) throw new Error('pipeline plot: no finished job to plot');
  const domain = groups.map((g) => g.label);
  const values = groups.map((g) => ({ ...g, lo: Math.max(0, g.mean - g.std), hi: Math.min(1, g.mean + g.std) }));
  const top = Math.min(1, Math.max(...values.map((v) => v.hi), ...jobs.map((j) => j.value)) * 1.05 + 0.01);
  const x = {
    field: 'label',
    type: 'nominal',
    title: null,
    sort: domain,
    axis: { labelAngle: domain.length > 6 ? -30 : 0, labelLimit: 260 },
  } as const;
  // Room for the longest label under each bar (about 7 px a character at the axis font size).
  const band = Math.max(90, 7.5 * Math.max(...domain.map((l) => l.length)));
  const y = {
    type: 'quantitative',
    title: o.metric ?? 'Best validation accuracy',
    scale: { domain: [0, top], nice: false },
    axis: { format: '.0%' },
  } as const;
  const layer: object[] = [
    {
      data: { values },
      mark: { type: 'bar', color: SERIES_COLORS[0], opacity: 0.8, width: { band: 0.6 } },
      encoding: { x, y: { ...y, field: 'mean' } },
    },
    {
      data: { values },
      mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
    },
    {
      data: { values: jobs },
      mark: { type: 'point', filled: true, color: '#222', size: 40 },
      encoding: { x, y: { ...y, field: 'value' } },
    },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: plotConfig(),
    title: { text: o.title ?? 'Pipeline results', subtitle: 'bar: mean over seeds, whisker: ±1 std, dot: one job' },
    width: Math.max(240, (domain.length > 6 ? 60 : band) * groups.length),
    height: 320,
    layer,
  } as TopLevelSpec;
}
