// Point labels placed without overlaps, in plot pixels. Vega's own label transform needs a native canvas to see
// the marks it must avoid, which this headless path does not have, so the plots place their labels here: for
// each point (in priority order) try eight spots around it and keep the one that covers the least of the other
// points, the labels already placed and the outside of the plot, and that lies nearer its own point than any
// other. A label is never dropped: at worst it overlaps.

export interface LabelPoint {
  x: number; // centre, px from the plot's left edge
  y: number; // centre, px from the plot's top edge
  radius: number; // half the marker's extent, px
  width: number; // label text width, px
  height: number; // label line height, px
}

// Where a label ended up: its left edge and vertical middle, px (the text mark draws align left, baseline middle).
export interface LabelPlacement {
  left: number;
  middle: number;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const GAP = 4;

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

// Gap between a box and a marker's edge, px (0 when they touch or overlap).
function distance(b: Box, p: LabelPoint): number {
  const dx = Math.max(b.x0 - p.x, 0, p.x - b.x1);
  const dy = Math.max(b.y0 - p.y, 0, p.y - b.y1);
  return Math.max(0, Math.hypot(dx, dy) - p.radius);
}

function candidates(p: LabelPoint): LabelPlacement[] {
  const r = p.radius + GAP;
  const dy = p.radius + 1 + p.height / 2;
  return [
    { left: p.x + r, middle: p.y }, // right
    { left: p.x - r - p.width, middle: p.y }, // left
    { left: p.x - p.width / 2, middle: p.y - dy }, // above
    { left: p.x - p.width / 2, middle: p.y + dy }, // below
    { left: p.x + p.radius * 0.7, middle: p.y - dy }, // above right
    { left: p.x + p.radius * 0.7, middle: p.y + dy }, // below right
    { left: p.x - p.radius * 0.7 - p.width, middle: p.y - dy }, // above left
    { left: p.x - p.radius * 0.7 - p.width, middle: p.y + dy }, // below left
  ];
}

// One placement per point, in the order given; earlier points get the better spots.
export function placeLabels(points: LabelPoint[], plot: { width: number; height: number }): LabelPlacement[] {
  const markers: Box[] = points.map((p) => ({
    x0: p.x - p.radius,
    y0: p.y - p.radius,
    x1: p.x + p.radius,
    y1: p.y + p.radius,
  }));
  const area: Box = { x0: 0, y0: 0, x1: plot.width, y1: plot.height };
  const placed: Box[] = [];
  return points.map((p, i) => {
    let best: { at: LabelPlacement; box: Box; cost: number } | undefined;
    for (const at of candidates(p)) {
      const box = { x0: at.left, y0: at.middle - p.height / 2, x1: at.left + p.width, y1: at.middle + p.height / 2 };
      const outside = p.width * p.height - overlap(box, area);
      let cost = 4 * outside; // running off the plot clips nothing, but reads as belonging to no point
      for (let j = 0; j < markers.length; j++) if (j !== i) cost += 2 * overlap(box, markers[j]!);
      for (const q of placed) cost += overlap(box, { x0: q.x0 - 3, y0: q.y0 - 2, x1: q.x1 + 3, y1: q.y1 + 2 });
      // A label nearer to another marker than to its own reads as that marker's label.
      const own = distance(box, p);
      for (let j = 0; j < points.length; j++)
        if (j !== i && distance(box, points[j]!) < own + 2) cost += (p.width * p.height) / 2;
      if (!best || cost < best.cost) best = { at, box, cost };
      if (cost === 0) break;
    }
    placed.push(best!.box);
    return best!.at;
  });
}
