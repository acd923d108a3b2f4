import type { TopLevelSpec } from 'vega-lite';
import type { TrainingHistory } from '../types.js';
import { ROLE_COLORS, SERIES_COLORS, plotConfig } from './theme.js';
import { logTicks } from './ticks.js';

export interface TrainingCurvesOptions {
  title?: string;
  // Width and height of each of the two panels.
  panelWidth?: number;
  panelHeight?: number;
  // 'auto' turns the loss axis logarithmic when all values are positive and span more than two decades.
  lossScale?: 'linear' | 'log' | 'auto';
}

interface AccPoint {
  epoch: number;
  network: string;
  split: 'validation' | 'training' | 'agreement';
  value: number;
}
interface LossPoint {
  epoch: number;
  term: string;
  value: number;
}

const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

// Long-form points of both panels; NaN and missing values are dropped, so a line bridges the gap.
export function trainingCurvePoints(history: TrainingHistory): { acc: AccPoint[]; loss: LossPoint[] } {
  const acc: AccPoint[] = [];
  const loss: LossPoint[] = [];
  const networkLoss: LossPoint[] = [];
  for (const e of history) {
    if (!Number.isFinite(e.epoch)) continue;
    for (const [network, s] of Object.entries(e.networks ?? {})) {
      if (finite(s.valAcc)) acc.push({ epoch: e.epoch, network, split: 'validation', value: s.valAcc });
      if (finite(s.trainAcc)) acc.push({ epoch: e.epoch, network, split: 'training', value: s.trainAcc });
      if (finite(s.agreement)) acc.push({ epoch: e.epoch, network, split: 'agreement', value: s.agreement });
      if (finite(s.loss)) networkLoss.push({ epoch: e.epoch, term: `loss (${network})`, value: s.loss });
    }
    if (finite(e.ensembleValAcc))
      acc.push({ epoch: e.epoch, network: 'ensemble', split: 'validation', value: e.ensembleValAcc });
    if (finite(e.ensembleAgreement))
      acc.push({ epoch: e.epoch, network: 'ensemble', split: 'agreement', value: e.ensembleAgreement });
    for (const [term, v] of Object.entries(e.terms ?? {})) if (finite(v)) loss.push({ epoch: e.epoch, term, value: v });
  }
  // Without per-term values (a plain `train` run) the per-network loss is the one loss curve there is.
  return { acc, loss: loss.length ? loss : networkLoss };
}

// Validation (solid) and training (dashed) accuracy per network beside the value of each loss term, per epoch.
// A panel with no finite value is left out; a history with none at all is an error.
export function trainingCurvesSpec(history: TrainingHistory, o: TrainingCurvesOptions = {}): TopLevelSpec {
  const { acc, loss } = trainingCurvePoints(history);
  if (!acc.length && !loss.length)
    throw new Error('training curves: the history has no finite accuracy or loss value to plot');
  const width = o.panelWidth ?? 460;
  const height = o.panelHeight ?? 320;
  const epochs = [...acc, ...loss].map((p) => p.epoch);
  const lo = Math.min(...epochs);
  const hi = Math.max(...epochs);
  // One epoch would give a zero-width domain; pad it so the single point sits in the middle.
  const domain = hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'Epoch',
    scale: { domain, nice: false },
    axis: { format: 'd', tickMinStep: 1 },
  } as const;
  const legend = { orient: 'bottom', direction: 'horizontal', columns: 3, title: null, labelLimit: 300 } as const;
  // Markers show single epochs and gaps; past a few dozen epochs they only blur the line.
  const markers = new Set(epochs).size <= 40;
  const line = { type: 'line', strokeWidth: 2, point: markers ? { filled: true, size: 36 } : false } as const;
  const panels: object[] = [];
  if (acc.length) {
    const networks = [...new Set(acc.map((p) => p.network))];
    const splits = (['validation', 'training', 'agreement'] as const).filter((s) => acc.some((p) => p.split === s));
    const agreement = splits.includes('agreement');
    panels.push({
      title: { text: agreement ? 'Accuracy and agreement with the teacher' : 'Accuracy per network', fontSize: 13 },
      width,
      height,
      data: { values: acc },
      mark: line,
      encoding: {
        x,
        y: {
          field: 'value',
          type: 'quantitative',
          title: agreement ? 'Accuracy / agreement' : 'Accuracy',
          scale: {
            domain: paddedDomain(
              acc.map((p) => p.value),
              0,
              1,
            ),
            nice: false,
          },
          axis: { format: '.0%' },
        },
        color: {
          field: 'network',
          type: 'nominal',
          scale: { domain: networks, range: seriesColors(networks) },
          legend,
        },
        strokeDash: {
          field: 'split',
          type: 'nominal',
          scale: {
            domain: splits,
            range: splits.map((s) => (s === 'validation' ? [1, 0] : s === 'training' ? [6, 4] : [2, 2])),
          },
          legend:
            splits.length > 1
              ? {
                  ...legend,
                  columns: 2,
                  symbolType: 'stroke',
                  symbolSize: 400,
                  // Vega-Lite paints this legend's symbols with a transparent stroke; a line style needs a visible one.
                  encode: { symbols: { update: { stroke: { value: '#333' }, strokeWidth: { value: 2 } } } },
                }
              : null,
        },
        detail: { field: 'split' },
      },
    });
  }
  if (loss.length) {
    const terms = [...new Set(loss.map((p) => p.term))];
    const positive = loss.every((p) => p.value > 0);
    const span = positive ? Math.max(...loss.map((p) => p.value)) / Math.min(...loss.map((p) => p.value)) : 0;
    const log = o.lossScale === 'log' ? positive : o.lossScale === 'linear' ? false : span > 100;
    const lossDomain = [Math.min(...loss.map((p) => p.value)) / 1.25, Math.max(...loss.map((p) => p.value)) * 1.25];
    panels.push({
      title: { text: log ? 'Loss per term (log scale)' : 'Loss per term', fontSize: 13 },
      width,
      height,
      data: { values: loss },
      mark: line,
      encoding: {
        x,
        y: log
          ? {
              field: 'value',
              type: 'quantitative',
              title: 'Loss',
              scale: { type: 'log', domain: lossDomain, nice: false },
              axis: { format: '~g', values: logTicks(lossDomain[0]!, lossDomain[1]!) },
            }
          : {
              field: 'value',
              type: 'quantitative',
              title: 'Loss',
              scale: {
                domain: paddedDomain(
                  loss.map((p) => p.value),
                  positive ? 0 : -Infinity,
                  Infinity,
                ),
                nice: false,
              },
              axis: { format: '~g' },
            },
        color: { field: 'term', type: 'nominal', scale: { domain: terms, range: seriesColors(terms) }, legend },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: plotConfig(),
    title: o.title ?? 'Training curves',
    hconcat: panels,
    spacing: 40,
    resolve: {
      scale: { color: 'independent', strokeDash: 'independent', y: 'independent' },
      legend: { color: 'independent' },
    },
  } as TopLevelSpec;
}

// A fixed colour per series in order of appearance, cycling past ten (more networks than that are unreadable anyway).
// The values' range widened by 5% each side (so no point sits on the frame) but not past what the quantity can be:
// accuracy stays in [0, 1], a non-negative loss does not get a negative axis.
function paddedDomain(vs: number[], min: number, max: number): [number, number] {
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const pad = hi > lo ? 0.05 * (hi - lo) : Math.max(0.01, 0.05 * Math.abs(hi));
  return [Math.max(min, lo - pad), Math.min(max, hi + pad)];
}

// The ensemble keeps the purple it has in the trade-off plots.
function seriesColors(names: string[]): string[] {
  let k = 0;
  return names.map((n) => (n === 'ensemble' ? ROLE_COLORS.ensemble : SERIES_COLORS[k++ % SERIES_COLORS.length]!));
}
