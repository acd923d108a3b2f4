import type { Config } from 'vega-lite';
import { EXPORT_FORMATS } from '../../export/formats/index.js';
import { FONT_FAMILY } from '../fonts.js';
import type { ReportFormat, ReportRole } from '../types.js';

// Look shared by every plot: the shipped font, a white background, readable sizes at the 2x PNG scale.
export function plotConfig(): Config {
  return {
    font: FONT_FAMILY,
    background: 'white',
    padding: 12,
    title: {
      fontSize: 16,
      fontWeight: 'bold',
      anchor: 'start',
      subtitleFontSize: 12,
      subtitleColor: '#555',
      offset: 12,
    },
    axis: {
      labelFontSize: 12,
      titleFontSize: 13,
      titleFontWeight: 'normal',
      titleColor: '#222',
      labelColor: '#333',
      gridColor: '#e6e6e6',
      domainColor: '#888',
      tickColor: '#888',
      titlePadding: 10,
    },
    legend: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'bold', symbolSize: 90, labelLimit: 260 },
    view: { stroke: '#ccc' },
  };
}

// The teacher is the reference every export is judged against, so it gets the one warm colour.
export const ROLE_COLORS: Record<ReportRole, string> = { teacher: '#c0392b', student: '#2f6db5', ensemble: '#7b4fa0' };

// Format is the second thing a reader compares (how much did int8 cost?), so it gets the marker shape (each format
// file declares its marker).
export const FORMAT_SHAPES: Record<ReportFormat, string> = Object.fromEntries(
  [...EXPORT_FORMATS].map(([n, f]) => [n, f.marker]),
);

// Nine colours that stay apart on white and for the common colour-vision deficiencies (Tableau 10 less its purple, which marks the ensemble).
export const SERIES_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
