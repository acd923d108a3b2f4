import type { TopLevelSpec } from 'vega-lite';
import { textWidth } from '../fonts.js';
import type { ReportFormat, ReportRole, ReportRow } from '../types.js';
import { placeLabels } from './labels.js';
import { logTicks } from './ticks.js';
import { FORMAT_SHAPES, ROLE_COLORS, plotConfig } from './theme.js';

// One axis of a trade-off plot: which row field goes on x, shown in which unit.
export interface TradeoffAxis {
  value: (row: ReportRow) => number;
  title: string;
}

export interface TradeoffOptions {
  title: string;
  subtitle?: string;
  x: TradeoffAxis;
  // Size of the plotting area in px (axes, legend and title come on top).
  width?: number;
  height?: number;
  // Draw the "model format" label beside each point (the tests turn it off to find the text).
  labels?: boolean;
}

const LABEL_FONT_SIZE = 12;
const MARKER_AREA = { teacher: 260, other: 110 };
const ROLE_PRIORITY: Record<ReportRole, number> = { teacher: 0, ensemble: 1, student: 2 };

interface Datum {
  label: string;
  role: ReportRole;
  format: ReportFormat;
  x: number;
  accuracy: number;
}

// Accuracy (y) against a cost on a log x axis: one point per row, coloured by role, shaped by format, each with
// its "model format" label. The domains are fixed here (not left to Vega) so that the labels can be placed in
// pixels before rendering. Rows whose cost is not a positive finite number cannot sit on a log axis: left out.
export function tradeoffSpec(rows: ReportRow[], o: TradeoffOptions): TopLevelSpec {
  const width = o.width ?? 640;
  const height = o.height ?? 420;
  const data: Datum[] = rows
    .map((r) => ({
      label: `${r.model} ${r.format}`,
      role: r.role,
      format: r.format,
      x: o.x.value(r),
      accuracy: r.accuracy,
    }))
    .filter((d) => Number.isFinite(d.x) && d.x > 0 && Number.isFinite(d.accuracy));
  if (!data.length) throw new Error(`${o.title}: no row has a positive finite value for the x axis`);
  const xd = logDomain(data.map((d) => d.x));
  const yd = accuracyDomain(data.map((d) => d.accuracy));
  const px = (v: number) => (width * Math.log(v / xd[0])) / Math.log(xd[1] / xd[0]);
  const py = (v: number) => height * (1 - (v - yd[0]) / (yd[1] - yd[0]));
  const order = data
    .map((_, i) => i)
    .sort((a, b) => ROLE_PRIORITY[data[a]!.role] - ROLE_PRIORITY[data[b]!.role] || a - b);
  const placed = placeLabels(
    order.map((i) => {
      const d = data[i]!;
      const teacher = d.role === 'teacher';
      return {
        x: px(d.x),
        y: py(d.accuracy),
        radius: Math.sqrt(teacher ? MARKER_AREA.teacher : MARKER_AREA.other) / 2 + 1,
        width: textWidth(d.label, LABEL_FONT_SIZE, teacher),
        height: LABEL_FONT_SIZE + 2,
      };
    }),
    { width, height },
  );
  const values = data.map((d) => ({ ...d, labelX: 0, labelY: 0 }));
  order.forEach((i, k) => {
    const at = placed[k]!;
    values[i]!.labelX = xd[0] * (xd[1] / xd[0]) ** (at.left / width);
    values[i]!.labelY = yd[0] + (1 - at.middle / height) * (yd[1] - yd[0]);
  });

  const roles = (Object.keys(ROLE_COLORS) as ReportRole[]).filter((k) => data.some((d) => d.role === k));
  const formats = (Object.keys(FORMAT_SHAPES) as ReportFormat[]).filter((k) => data.some((d) => d.format === k));
  const xScale = { type: 'log', domain: xd, nice: false } as const;
  const yScale = { domain: yd, nice: false, zero: false } as const;
  const x = {
    field: 'x',
    type: 'quantitative',
    title: o.x.title,
    scale: xScale,
    axis: { format: '~g', labelOverlap: 'greedy', values: logTicks(xd[0], xd[1]) },
  } as const;
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: 'Top-1 accuracy',
    scale: yScale,
    axis: { format: accuracyFormat(yd) },
  } as const;
  const label = (teacher: boolean) => ({
    transform: [{ filter: `datum.role ${teacher ? '===' : '!=='} 'teacher'` }],
    mark: {
      type: 'text',
      align: 'left',
      baseline: 'middle',
      fontSize: LABEL_FONT_SIZE,
      fontWeight: teacher ? 'bold' : 'normal',
      color: teacher ? ROLE_COLORS.teacher : '#333',
    },
    encoding: {
      x: { field: 'labelX', type: 'quantitative', scale: xScale },
      y: { field: 'labelY', type: 'quantitative', scale: yScale },
      text: { field: 'label', type: 'nominal' },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: plotConfig(),
    title: o.subtitle ? { text: o.title, subtitle: o.subtitle } : o.title,
    width,
    height,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.9, stroke: 'white', strokeWidth: 1 },
        encoding: {
          x,
          y,
          color: {
            field: 'role',
            type: 'nominal',
            title: 'Role',
            scale: { domain: roles, range: roles.map((k) => ROLE_COLORS[k]) },
          },
          shape: {
            field: 'format',
            type: 'nominal',
            title: 'Format',
            scale: { domain: formats, range: formats.map((k) => FORMAT_SHAPES[k]) },
          },
          size: {
            condition: { test: "datum.role === 'teacher'", value: MARKER_AREA.teacher },
            value: MARKER_AREA.other,
            legend: null,
          },
        },
      },
      ...(o.labels === false ? [] : [label(true), label(false)]),
    ],
  } as TopLevelSpec;
}

// The values' range widened by a tenth of a decade or more each side, so no point sits on the frame.
function logDomain(vs: number[]): [number, number] {
  const lo = Math.log10(Math.min(...vs));
  const hi = Math.log10(Math.max(...vs));
  const pad = Math.max(0.1, 0.08 * (hi - lo));
  return [10 ** (lo - pad), 10 ** (hi + pad)];
}

// Accuracy range padded by a tenth (at least half a point each side), kept inside [0, 1].
function accuracyDomain(vs: number[]): [number, number] {
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const pad = Math.max(0.005, 0.1 * (hi - lo));
  return [Math.max(0, lo - pad), Math.min(1, hi + pad)];
}

// Percent ticks with a decimal only when the axis spans a few points.
function accuracyFormat([lo, hi]: [number, number]): string {
  return hi - lo < 0.05 ? '.1%' : '.0%';
}
