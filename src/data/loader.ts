import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import pLimit from 'p-limit';
import { UserError } from '../util/errors.js';
import { applyPolicy, RRC_DEFAULTS, type TrainAugment } from './augment.js';
import { cropBox, decodeRaw, type CropMode } from './decode.js';
import { mix, DataRng } from './random.js';
import { resampleInto, type RawImage } from './resample.js';
import { affine, normalizeBytes, writeNormalized, type Stats } from './transforms.js';
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
  // Reuse a ring of batch buffers: a batch's arrays stay valid only until the next one is requested. Saves
  // page-faulting fresh memory for every batch (38 MB for 64 images at 224 px); for consumers that copy.
  reuse?: boolean;
  // Start at this batch of the epoch's order (resuming mid-epoch) without decoding the ones before it.
  skip?: number;
}

// How a split turns samples into tensors.
export interface SplitConfig {
  input: [number, number, number];
  stats: Stats;
  // Training augmentation; undefined for evaluation.
  augment?: TrainAugment;
  // How file-backed images are cut when not randomly cropped (evaluation): centred, `fraction` of the shorter side.
  center: CropMode;
  strict: boolean;
}

// One split of a dataset: knows its size and yields seeded, prefetched batches.
export class DataSplit {
  readonly failures: Failure[] = [];
  private bad = new Set<number>();
  // Batch buffers reused across epochs when the consumer allows it (see LoaderOptions.reuse).
  private ring: Float32Array[] = [];
  private ringSize = 0;
  // Decodes in flight across all prefetched batches: enough to keep libuv's threads busy, few enough that decoded
  // frames do not pile up waiting for the JS pass.
  private lanes = pLimit(8);
  private identityHash: string | undefined;

  // Normalisation as the resampler applies it, and none (bytes out unchanged).
  private readonly norm: { scale: number[]; shift: number[] };
  private readonly unscaled: { scale: number[]; shift: number[] };

  constructor(
    readonly source: MemoryImages | FileImages,
    readonly cfg: SplitConfig,
  ) {
    this.norm = affine(cfg.stats);
    this.unscaled = { scale: new Array<number>(cfg.input[0]).fill(1), shift: new Array<number>(cfg.input[0]).fill(0) };
  }

  get size(): number {
    return this.source.kind === 'memory' ? this.source.labels.length : this.source.samples.length;
  }

  label(i: number): number {
    return this.source.kind === 'memory' ? this.source.labels[i]! : this.source.samples[i]!.label;
  }

  // Seeded order for an epoch: the same seed and epoch always give the same order.
  // Files found unreadable in an earlier pass are left out, so later epochs keep whole batches.
  order(o: LoaderOptions): Int32Array {
    const all = o.shuffle
      ? new DataRng(mix(o.seed, o.epoch, 0x5eed)).permutation(this.size)
      : Int32Array.from({ length: this.size }, (_, i) => i);
    return this.bad.size ? all.filter((i) => !this.bad.has(i)) : all;
  }

  async *loader(o: LoaderOptions): AsyncGenerator<Batch> {
    const order = this.order(o);
    const count = o.dropLast ? Math.floor(order.length / o.batchSize) : Math.ceil(order.length / o.batchSize);
    const ahead = this.source.kind === 'files' ? Math.max(1, o.prefetch ?? 3) : 1;
    // Batch k is built while k-ahead..k-1 wait or are being consumed: ahead + 1 buffers cover the ring, which is
    // kept across epochs (one loader of a split at a time when reusing).
    const per = this.cfg.input.reduce((a, b) => a * b, 1);
    if (this.ringSize !== o.batchSize * per * (ahead + 1)) {
      this.ring = [];
      this.ringSize = o.batchSize * per * (ahead + 1);
    }
    const buffer = (k: number): Float32Array => {
      if (!o.reuse) return new Float32Array(o.batchSize * per);
      return (this.ring[k % (ahead + 1)] ??= new Float32Array(o.batchSize * per));
    };
    const make = (k: number) =>
      this.batch(order.subarray(k * o.batchSize, Math.min((k + 1) * o.batchSize, order.length)), o, buffer(k));
    const queue: Promise<Batch | undefined>[] = [];
    let next = Math.max(0, o.skip ?? 0);
    while (next < count && queue.length < ahead) queue.push(make(next++));
    let finished = false;
    try {
      while (queue.length) {
        const b = await queue.shift()!;
        if (next < count) queue.push(make(next++));
        if (b) yield b;
      }
      finished = true;
    } finally {
      // Left early (break, error): batches still being built write into the ring, so the next pass gets new buffers.
      if (!finished) {
        this.ring = [];
        this.ringSize = 0;
      }
    }
  }

  // Crop, resize, flip and normalise one decoded image into a batch slot: a random-resized crop when training with
  // one, else the centre (then the padded random crop when the recipe has one). Crop and flip draw from a per-sample
  // stream, so a seed gives the same pixels whatever order the decodes finish in.
  private place(raw: RawImage, s: number, o: LoaderOptions, x: Float32Array, offset: number): void {
    const [c, h, w] = this.cfg.input;
    const aug = this.cfg.augment;
    const rng = new DataRng(mix(o.seed, o.epoch, s));
    const crop: CropMode = aug?.randomResizedCrop
      ? { kind: 'random-resized', rng, scale: aug.scale ?? RRC_DEFAULTS.scale, ratio: aug.ratio ?? RRC_DEFAULTS.ratio }
      : this.cfg.center;
    const box = cropBox(raw.width, raw.height, w, h, crop);
    if (aug && !aug.randomResizedCrop && aug.padCrop > 0) {
      // The CIFAR recipe on decoded files: centre crop to bytes, then the same padded crop and flip as in memory.
      const bytes = new Uint8Array(c * h * w);
      resampleInto(
        raw,
        box,
        { channels: c, height: h, width: w, scale: this.unscaled.scale, shift: this.unscaled.shift, flip: false },
        bytes,
        0,
      );
      writeNormalized(bytes, 0, x, offset, c, h, w, this.cfg.stats, aug, rng);
      return;
    }
    const flip = !!aug?.flip && rng.next() < (aug.flipProb ?? 0.5);
    if (aug?.trivial || aug?.randaugment) {
      // TrivialAugmentWide / RandAugment work on the crop's bytes (as torchvision's on the PIL image), then normalise.
      const bytes = new Uint8Array(c * h * w);
      resampleInto(
        raw,
        box,
        { channels: c, height: h, width: w, scale: this.unscaled.scale, shift: this.unscaled.shift, flip },
        bytes,
        0,
      );
      normalizeBytes(applyPolicy(aug, { data: bytes, c, h, w }, rng).data, x, offset, c, this.norm);
      return;
    }
    resampleInto(raw, box, { channels: c, height: h, width: w, ...this.norm, flip }, x, offset);
  }

  // Everything besides (seed, epoch, sample) that a sample's pixels depend on, hashed: the images (their bytes in
  // memory; path, size and modification time of each file) and how they become tensors. Computed once.
  identity(): string {
    if (this.identityHash) return this.identityHash;
    const h = createHash('sha256').update(JSON.stringify({ cfg: this.cfg, kind: this.source.kind }));
    if (this.source.kind === 'memory') h.update(JSON.stringify(this.source.shape)).update(this.source.images);
    else {
      for (const s of this.source.samples) {
        const st = statSync(s.path, { throwIfNoEntry: false });
        h.update(`${s.path}\0${st?.size ?? -1}\0${st?.mtimeMs ?? -1}\n`);
      }
    }
    return (this.identityHash = h.digest('hex'));
  }

  private async batch(idx: Int32Array, o: LoaderOptions, x: Float32Array): Promise<Batch | undefined> {
    const [c, h, w] = this.cfg.input;
    const per = c * h * w;
    const y = new Int32Array(idx.length);
    const kept: number[] = [];
    if (this.source.kind === 'memory') {
      const src = this.source;
      const hwc = this.cfg.augment?.randomResizedCrop ? new Uint8Array(per) : undefined;
      idx.forEach((s, r) => {
        if (hwc) {
          // Random-resized crops of in-memory images too (--augment imagenet on small data): planar to interleaved,
          // then the same path as decoded files.
          const plane = h * w;
          for (let ch = 0; ch < c; ch++)
            for (let p = 0; p < plane; p++) hwc[p * c + ch] = src.images[s * per + ch * plane + p]!;
          this.place({ data: hwc, width: w, height: h, channels: c }, s, o, x, r * per);
        } else {
          // A per-sample stream, as for files: a sample's pixels depend on (seed, epoch, sample) only, never on its
          // batch or batch size (so the teacher cache can replay a teacher's outputs whatever the batching).
          const rng = this.cfg.augment ? new DataRng(mix(o.seed, o.epoch, s, 0xa06)) : undefined;
          writeNormalized(src.images, s * per, x, r * per, c, h, w, this.cfg.stats, this.cfg.augment, rng);
        }
        y[r] = src.labels[s]!;
        kept.push(s);
      });
      return {
        x: x.subarray(0, idx.length * per),
        y,
        n: idx.length,
        shape: [idx.length, c, h, w],
        indices: Int32Array.from(kept),
      };
    }
    const samples = this.source.samples;
    // Each image is placed into its batch slot as soon as it is decoded, so the decoded bytes are dropped at once and
    // the JS pass overlaps the decoding of the rest.
    const ok = await Promise.all(
      Array.from(idx, async (s, j) => {
        if (this.bad.has(s)) return false;
        let raw;
        try {
          raw = await this.lanes(() => decodeRaw(samples[s]!.path));
        } catch (err: unknown) {
          const reason = err instanceof Error ? err.message : String(err);
          if (this.cfg.strict)
            throw new UserError(
              `${samples[s]!.path}: cannot decode image (${reason}); run without --strict to skip unreadable files`,
            );
          this.bad.add(s);
          this.failures.push({ path: samples[s]!.path, reason });
          return false;
        }
        this.place(raw, s, o, x, j * per);
        return true;
      }),
    );
    let r = 0;
    ok.forEach((good, j) => {
      if (!good) return;
      if (r !== j) x.copyWithin(r * per, j * per, (j + 1) * per);
      y[r] = samples[idx[j]!]!.label;
      kept.push(idx[j]!);
      r++;
    });
    if (r === 0) return undefined;
    // A batch that lost images is shorter; batch-relational losses need full batches, so top it up only when dropping is off.
    if (o.dropLast && r < idx.length) return undefined;
    return {
      x: x.subarray(0, r * per),
      y: y.subarray(0, r),
      n: r,
      shape: [r, c, h, w],
      indices: Int32Array.from(kept),
    };
  }
}
