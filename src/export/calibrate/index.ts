import type { InferenceRunner } from '../../runtime/inference.js';
import { UserError } from '../../util/errors.js';
import { importFolder } from '../../util/registry.js';
import { HIST_BINS, type Calibrator, type TensorStats } from './types.js';

export type { Calibrator, TensorStats } from './types.js';

// Every calibrator in this folder (one file each, `export const calibrator`), by name.
export async function calibrators(): Promise<Map<string, Calibrator>> {
  const list = await importFolder(new URL('./', import.meta.url), (m) => m.calibrator as Calibrator | undefined);
  return new Map(list.map((c) => [c.name, c]));
}

// Look a calibrator up by `--calibrate` name, listing the known ones when it is not there.
export async function calibratorNamed(name: string): Promise<Calibrator> {
  const all = await calibrators();
  const c = all.get(name);
  if (!c) throw new UserError(`--calibrate: unknown calibrator '${name}'; choose one of ${[...all.keys()].join(', ')}`);
  return c;
}

// A pass over the calibration images: the images as float32 batches.
export type CalibrationImages = () => AsyncIterable<{ x: Float32Array; dims: number[]; n: number }>;

// Run the fp32 model (with the tensors to calibrate as extra outputs) over the calibration images: min/max in a
// first pass, then, when the calibrator reads one, a histogram over [min, max] in a second.
export async function collectStats(
  runner: InferenceRunner,
  names: string[],
  images: CalibrationImages,
  histogram: boolean,
  progress?: (pass: string, done: number) => void,
): Promise<Map<string, TensorStats>> {
  const stats = new Map<string, TensorStats>(names.map((n) => [n, { min: Infinity, max: -Infinity }]));
  let seen = 0;
  for await (const b of images()) {
    const out = await runner.run(b.x, b.dims, names);
    for (const n of names) {
      const s = stats.get(n)!;
      const d = out[n]!.data;
      let lo = s.min,
        hi = s.max;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      s.min = lo;
      s.max = hi;
    }
    progress?.('calibrating: ranges', (seen += b.n));
  }
  if (!histogram) return stats;
  for (const s of stats.values()) s.hist = new Float64Array(HIST_BINS);
  seen = 0;
  for await (const b of images()) {
    const out = await runner.run(b.x, b.dims, names);
    for (const n of names) {
      const s = stats.get(n)!;
      const h = s.hist!,
        d = out[n]!.data;
      const k = s.max > s.min ? HIST_BINS / (s.max - s.min) : 0;
      for (let i = 0; i < d.length; i++) h[Math.min(HIST_BINS - 1, Math.floor((d[i]! - s.min) * k))]! += 1;
    }
    progress?.('calibrating: histograms', (seen += b.n));
  }
  return stats;
}
