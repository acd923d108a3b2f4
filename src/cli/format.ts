import type { Shape } from '../ir/graph.js';

// The CLI's formatting helpers: the shared number and table helpers, plus shapes.
export { bytes, grouped, si, table } from '../util/format.js';

// [1, 3, 'batch'] -> "1x3xbatch"; unknown -> "?".
export function shapeText(s: Shape | undefined): string {
  return s ? (s.length ? s.join('x') : 'scalar') : '?';
}
