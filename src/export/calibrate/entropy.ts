import type { Calibrator, TensorStats } from './types.js';

// KL(p || q) of two unnormalised histograms, over the bins where p has mass (q smoothed where it has none).
function kl(p: Float64Array, q: Float64Array): number {
  const sp = p.reduce((a, b) => a + b, 0),
    sq = q.reduce((a, b) => a + b, 0);
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    if (!p[i]) continue;
    d += (p[i]! / sp) * Math.log(p[i]! / sp / Math.max(q[i]! / sq, 1e-12));
  }
  return d;
}

// The histogram of |x| on [0, max|x|], re-binned from the signed one.
function magnitudes(s: TensorStats): { h: Float64Array; width: number } {
  const src = s.hist!;
  const amax = Math.max(Math.abs(s.min), Math.abs(s.max));
  const w = (s.max - s.min) / src.length;
  const h = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const c = Math.abs(s.min + (i + 0.5) * w);
    h[Math.min(src.length - 1, Math.floor((c / amax) * src.length))]! += src[i]!;
  }
  return { h, width: amax / src.length };
}

// TensorRT's threshold search (Migacz, "8-bit Inference with TensorRT", GTC 2017): the clip point t whose
// `levels`-level quantisation of the clipped histogram loses the least information, KL(P || Q).
// One-sided tensors drop the first bin: the spike of exact zeros a ReLU leaves is exact at any scale, and left in
// it pulls the threshold far down (clipping a quarter of the range on Fashion-MNIST CNNs).
export function entropyThreshold(s: TensorStats, levels: number): number {
  const { h, width } = magnitudes(s);
  if (s.min >= 0) h[0] = 0;
  let best = h.length,
    bestD = Infinity;
  for (let i = levels; i <= h.length; i += 16) {
    const p = h.slice(0, i);
    for (let k = i; k < h.length; k++) p[i - 1]! += h[k]!;
    const q = new Float64Array(i);
    const per = i / levels;
    for (let l = 0; l < levels; l++) {
      const a = Math.floor(l * per),
        b = l === levels - 1 ? i : Math.floor((l + 1) * per);
      let sum = 0,
        nz = 0;
      for (let k = a; k < b; k++) {
        sum += h[k]!;
        if (h[k]) nz++;
      }
      for (let k = a; k < b; k++) if (h[k]) q[k] = sum / nz;
    }
    const d = kl(p, q);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best * width;
}

// The range whose quantisation keeps the distribution closest in KL divergence; one-sided tensors (after ReLU)
// use all 256 levels.
export const calibrator: Calibrator = {
  name: 'entropy',
  describe: 'KL-divergence threshold (TensorRT)',
  histogram: true,
  range: (s) => {
    if (s.max <= s.min) return [s.min, s.max];
    const t = entropyThreshold(s, s.min >= 0 ? 256 : 128);
    return [Math.max(s.min, -t), Math.min(s.max, t)];
  },
};
