import { UserError } from '../util/errors.js';
import { decodeImage } from './decode.js';
import { mix, Rng } from './random.js';
import { writeNormalized, type Augment, type Stats } from './transforms.js';
import type { Failure, FileImages, MemoryImages } from './types.js';

// A batch of NCHW float32 images with integer labels, and which samples they were.
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  n: number;
  shape: [number, number, number, number];
  indices: Int32Array;
}

// Options of one pass over a split.
export interface LoaderOptions {
  batchSize: number;
  seed: number;
  epoch: number;
  shuffle: boolean;
  dropLast: boolean;
  // Batches prepared ahead of the consumer (file-backed splits), bounding memory.
  prefetch?: number;
}

// How a split turns samples into tensors.
export interface SplitConfig {
  input: [number, number, number];
  stats: Stats;
  // Training augmentation; undefined for evaluation.
  augment?: Augment & { randomResizedCrop?: boolean };
  strict: boolean;
}

// One split of a dataset: knows its size and yields seeded, prefetched batches.
export class DataSplit {
  readonly failures: Failure[] = [];
  private bad = new Set<number>();

  constructor(readonly source: MemoryImages | FileImages, readonly cfg: SplitConfig) {}

  get size(): number {
    return this.source.kind === 'memory' ? this.source.labels.length : this.source.samples.length;
  }

  label(i: number): number {
    return this.source.kind === 'memory' ? this.source.labels[i]! : this.source.samples[i]!.label;
  }

  // Seeded order for an epoch: the same seed and epoch always give the same order.
  // Files found unreadable in an earlier pass are left out, so later epochs keep whole batches.
  order(o: LoaderOptions): Int32Array {
    const all = o.shuffle ? new Rng(mix(o.seed, o.epoch, 0x5eed)).permutation(this.size) : Int32Array.from({ length: this.size }, (_, i) => i);
    return this.bad.size ? all.filter((i) => !this.bad.has(i)) : all;
  }

  async *loader(o: LoaderOptions): AsyncGenerator<Batch> {
    const order = this.order(o);
    const count = o.dropLast ? Math.floor(order.length / o.batchSize) : Math.ceil(order.length / o.batchSize);
    const make = (k: number) => this.batch(order.subarray(k * o.batchSize, Math.min((k + 1) * o.batchSize, order.length)), o, k);
    const ahead = this.source.kind === 'files' ? Math.max(1, o.prefetch ?? 3) : 1;
    const queue: Promise<Batch | undefined>[] = [];
    let next = 0;
    while (next < count && queue.length < ahead) queue.push(make(next++));
    while (queue.length) {
      const b = await queue.shift()!;
      if (next < count) queue.push(make(next++));
      if (b) yield b;
    }
  }

  private async batch(idx: Int32Array, o: LoaderOptions, k: number): Promise<Batch | undefined> {
    const [c, h, w] = this.cfg.input;
    const per = c * h * w;
    const rng = this.cfg.augment ? new Rng(mix(o.seed, o.epoch, k, 0xa06)) : undefined;
    const x = new Float32Array(idx.length * per);
    const y = new Int32Array(idx.length);
    const kept: number[] = [];
    if (this.source.kind === 'memory') {
      const src = this.source;
      idx.forEach((s, r) => {
        writeNormalized(src.images, s * per, x, r * per, c, h, w, this.cfg.stats, this.cfg.augment, rng);
        y[r] = src.labels[s]!;
        kept.push(s);
      });
      return { x, y, n: idx.length, shape: [idx.length, c, h, w], indices: Int32Array.from(kept) };
    }
    const samples = this.source.samples;
    const decoded = await Promise.all(Array.from(idx, async (s) => {
      if (this.bad.has(s)) return undefined;
      const crop = this.cfg.augment?.randomResizedCrop && rng
        ? { kind: 'random-resized' as const, rng: new Rng(mix(o.seed, o.epoch, s)), scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] }
        : { kind: 'center' as const };
      try {
        return await decodeImage(samples[s]!.path, c, h, w, crop);
      } catch (err: unknown) {
        const reason = err instanceof Error ? err.message : String(err);
        if (this.cfg.strict) throw new UserError(`${samples[s]!.path}: cannot decode image (${reason}); run without --strict to skip unreadable files`);
        this.bad.add(s);
        this.failures.push({ path: samples[s]!.path, reason });
        return undefined;
      }
    }));
    let r = 0;
    decoded.forEach((img, j) => {
      if (!img) return;
      const flipOnly = this.cfg.augment ? { padCrop: this.cfg.augment.randomResizedCrop ? 0 : this.cfg.augment.padCrop, flip: this.cfg.augment.flip } : undefined;
      writeNormalized(img, 0, x, r * per, c, h, w, this.cfg.stats, flipOnly, rng);
      y[r] = samples[idx[j]!]!.label;
      kept.push(idx[j]!);
      r++;
    });
    if (r === 0) return undefined;
    // A batch that lost images is shorter; batch-relational losses need full batches, so top it up only when dropping is off.
    if (o.dropLast && r < idx.length) return undefined;
    return { x: x.subarray(0, r * per), y: y.subarray(0, r), n: r, shape: [r, c, h, w], indices: Int32Array.from(kept) };
  }
}
