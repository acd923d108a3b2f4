// A tiny learnable dataset for trainer tests: the class is which image quadrant is brightest (4 classes of 10 logits).
import type { TrainBatch, TrainSplit } from '../../src/train/types.js';

// No augmentation: a sample's pixels are fixed by (size, seed), which is its identity for the teacher cache.
export function quadrantData(size: number, seed: number, onBatch?: (epoch: number, i: number) => void): TrainSplit {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const hw = 28 * 28;
  const xs = new Float32Array(size * hw);
  const ys = new Int32Array(size);
  for (let n = 0; n < size; n++) {
    const c = Math.floor(rnd() * 4);
    ys[n] = c;
    for (let i = 0; i < 28; i++)
      for (let j = 0; j < 28; j++) {
        const q = (i < 14 ? 0 : 2) + (j < 14 ? 0 : 1);
        xs[n * hw + i * 28 + j] = rnd() * 0.5 + (q === c ? 0.8 : 0);
      }
  }
  return {
    size,
    identity: () => `quadrant:${size}:${seed}`,
    labelOf: (i) => ys[i]!,
    async *batches({ batchSize, epoch, seed: sd, shuffle, dropLast, skip = 0 }): AsyncIterable<TrainBatch> {
      const order = Array.from({ length: size }, (_, i) => i);
      if (shuffle) {
        let t = (sd * 7919 + epoch * 104729) >>> 0 || 1;
        for (let i = size - 1; i > 0; i--) {
          t ^= t << 13;
          t >>>= 0;
          t ^= t >>> 17;
          t ^= t << 5;
          t >>>= 0;
          const j = t % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let start = skip * batchSize, i = skip; start < size; start += batchSize, i++) {
        const idx = order.slice(start, start + batchSize);
        if (dropLast && idx.length < batchSize) break;
        onBatch?.(epoch, i);
        const x = new Float32Array(idx.length * hw);
        idx.forEach((k, r) => x.set(xs.subarray(k * hw, (k + 1) * hw), r * hw));
        yield { x, y: Int32Array.from(idx, (k) => ys[k]!), n: idx.length, indices: Int32Array.from(idx) };
      }
    },
  };
}
