// --bn-recalibrate N: after training, re-estimate every BatchNorm's running statistics of the trainable networks on N
// augmented training batches, as PyTorch's reset_running_stats() + momentum=None (the cumulative average of the batch
// means and unbiased variances) does. A short run's statistics trail its last weights (an exponential average over
// the final ~10 batches of moving weights); the re-estimate matches the weights that are exported.
import { compileBnStatistics } from '../compiler/bnStats.js';
import type { CompiledStep } from '../compiler/step.js';
import type { Runtime } from '../runtime/session.js';
import type { TensorData } from '../runtime/tensor.js';
import type { RunOptions } from './types.js';

// What run.json records of a re-estimate: batches used and the validation accuracy afterwards.
export type { Recalibration } from './types.js';

// The re-estimated running statistics, by state name (unchanged ones left out), and the batches they average over.
// Batches come from fresh epochs (epoch indices after the run's), shuffled and augmented as training is.
export async function recalibrateBatchNorm(
  rt: Runtime,
  o: RunOptions,
  step: CompiledStep,
  state: Record<string, TensorData>,
  batches: number,
): Promise<{ stats: Record<string, TensorData>; batches: number }> {
  const weights = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.data as Float32Array]));
  const graph = compileBnStatistics(o.networks, o.batchSize, weights);
  if (!graph.stats.length) return { stats: {}, batches: 0 };
  const session = await rt.session(graph.bytes, 'the BatchNorm statistics graph');
  const names = graph.stats.flatMap((s) => [`mean:${s.mean}`, `var:${s.var}`]);
  const sums = new Map<string, Float64Array>();
  let seen = 0;
  try {
    for (let epoch = o.epochs; seen < batches; epoch++) {
      const before = seen;
      for await (const b of o.train.batches({
        batchSize: o.batchSize,
        epoch,
        seed: o.seed,
        shuffle: true,
        dropLast: true,
      })) {
        const r = await session.run(
          { input: { type: 'float32', dims: [b.n, ...step.inputShape.slice(1)], data: b.x } },
          names,
        );
        for (const n of names) {
          const v = r[n]!.data as Float32Array;
          const s = sums.get(n) ?? sums.set(n, new Float64Array(v.length)).get(n)!;
          for (let i = 0; i < v.length; i++) s[i]! += v[i]!;
        }
        if (++seen >= batches) break;
      }
      if (seen === before) break;
    }
  } finally {
    await session.release();
  }
  const stats: Record<string, TensorData> = {};
  for (const s of graph.stats) {
    for (const [kind, name] of [
      ['mean', s.mean],
      ['var', s.var],
    ] as const) {
      const sum = sums.get(`${kind}:${name}`)!;
      stats[name] = { type: 'float32', dims: state[name]!.dims, data: Float32Array.from(sum, (x) => x / seen) };
    }
  }
  return { stats, batches: seen };
}
