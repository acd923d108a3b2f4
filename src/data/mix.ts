import { mix as mixSeed, DataRng } from './random.js';

// Batch-level Mixup (Zhang et al. 2018, arXiv 1710.09412) and CutMix (Yun et al. 2019, arXiv 1905.04899) as
// torchvision's classification reference applies them (references/classification/transforms.py RandomMixup /
// RandomCutmix, p = 1, chosen 50/50 by RandomChoice when both are on): each image is mixed with the one before it in
// the batch (batch.roll(1, 0)), with one λ ~ Beta(α, α) per batch; CutMix pastes a box of area ≈ (1 - λ) and sets λ
// to the area it kept. Targets become λ·onehot(y) + (1 - λ)·onehot(y2), so CE is λ·CE(y) + (1 - λ)·CE(y2).

// The α of each (0 = off).
export interface MixParams {
  mixup?: number;
  cutmix?: number;
}

// What a mixed batch adds: the partner labels and the weight of the batch's own.
export interface BatchMix {
  y2: Int32Array;
  lam: number;
}

// A standard normal draw (Box-Muller on two uniforms).
function normal(rng: DataRng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

// Gamma(a, 1) by Marsaglia-Tsang (a ≥ 1), boosted by U^(1/a) below 1.
function gamma(rng: DataRng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * Math.pow(1 - rng.next(), 1 / a);
  const d = a - 1 / 3,
    c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(rng),
      v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

// Beta(a, a): the first part of a Dirichlet(a, a), as torchvision draws λ.
export function sampleBeta(rng: DataRng, a: number): number {
  const x = gamma(rng, a),
    y = gamma(rng, a);
  return x / (x + y);
}

// Whether a run mixes at all.
export function mixing(p: MixParams): boolean {
  return (p.mixup ?? 0) > 0 || (p.cutmix ?? 0) > 0;
}

// Mix a batch of n NCHW images in place (partner of i: i - 1, of 0: n - 1); returns the partner labels and λ.
export function mixBatch(
  x: Float32Array,
  y: Int32Array,
  n: number,
  chw: [number, number, number],
  p: MixParams,
  rng: DataRng,
): BatchMix {
  const [c, h, w] = chw;
  const per = c * h * w;
  const both = (p.mixup ?? 0) > 0 && (p.cutmix ?? 0) > 0;
  const cut = both ? rng.next() < 0.5 : (p.cutmix ?? 0) > 0;
  let lam = sampleBeta(rng, cut ? p.cutmix! : p.mixup!);
  const y2 = Int32Array.from({ length: n }, (_, i) => y[(i + n - 1) % n]!);
  const last = x.slice((n - 1) * per, n * per);
  const partner = (i: number) => (i === 0 ? last : x.subarray((i - 1) * per, i * per));
  if (!cut) {
    // Downwards, so image i - 1 is still unmixed when image i reads it.
    for (let i = n - 1; i >= 0; i--) {
      const other = partner(i),
        base = i * per;
      for (let k = 0; k < per; k++) x[base + k] = lam * x[base + k]! + (1 - lam) * other[k]!;
    }
    return { y2, lam };
  }
  const rx = rng.int(w),
    ry = rng.int(h);
  const r = 0.5 * Math.sqrt(1 - lam);
  const rw = Math.trunc(r * w),
    rh = Math.trunc(r * h);
  const x1 = Math.max(rx - rw, 0),
    y1 = Math.max(ry - rh, 0),
    x2 = Math.min(rx + rw, w),
    y2b = Math.min(ry + rh, h);
  for (let i = n - 1; i >= 0; i--) {
    const other = partner(i),
      base = i * per;
    for (let ch = 0; ch < c; ch++)
      for (let yy = y1; yy < y2b; yy++)
        for (let xx = x1; xx < x2; xx++) x[base + ch * h * w + yy * w + xx] = other[ch * h * w + yy * w + xx]!;
  }
  lam = 1 - ((x2 - x1) * (y2b - y1)) / (w * h);
  return { y2, lam };
}

// Mix each batch of an epoch's stream, from a stream seeded by (seed, epoch, batch index): repeatable for a seed,
// resumable mid-epoch (`skip` is the first batch's index).
export async function* mixBatches<B extends { x: Float32Array; y: Int32Array; n: number }>(
  batches: AsyncIterable<B>,
  p: MixParams,
  chw: [number, number, number],
  seed: number,
  epoch: number,
  skip: number,
): AsyncGenerator<B & { mix: BatchMix }> {
  let k = skip;
  for await (const b of batches) {
    const rng = new DataRng(mixSeed(seed, epoch, k++, 0x3c1));
    yield { ...b, mix: mixBatch(b.x, b.y, b.n, chw, p, rng) };
  }
}

// The batch mixing as torchvision's reference writes it, appended to the augmentation's description ('' when off).
export function describeMix(p: MixParams): string {
  const on = [
    ...((p.mixup ?? 0) > 0 ? [`RandomMixup(alpha=${p.mixup})`] : []),
    ...((p.cutmix ?? 0) > 0 ? [`RandomCutmix(alpha=${p.cutmix})`] : []),
  ];
  return on.length === 0 ? '' : ` + per batch ${on.length === 2 ? `RandomChoice([${on.join(', ')}])` : on[0]}`;
}
