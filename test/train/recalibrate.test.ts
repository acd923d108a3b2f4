// --bn-recalibrate: after training, the exported BatchNorm statistics are the cumulative average of the batch means
// and unbiased batch variances over N training batches (PyTorch's reset_running_stats() + momentum=None), computed
// here independently on the host from the exported weights and the same batches.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModel, type Model } from '../../src/ir/model.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { train } from '../../src/train/trainer.js';
import { loadTrainableModel } from '../../src/zoo/index.js';
import { quadrantData } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'od-recal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
const weight = (m: Model, name: string) =>
  Float64Array.from(m.graph.initializers.find((v) => v.name === name)!.constant!.data as Float32Array);

// Per channel, the mean and unbiased variance over (N, H, W) of a bias-free 3x3 conv with padding 1 on 1x28x28 images.
function convStats(
  x: Float32Array,
  n: number,
  w: Float64Array,
  channels: number,
): { mean: number[]; variance: number[] } {
  const mean: number[] = [],
    variance: number[] = [];
  for (let c = 0; c < channels; c++) {
    let s = 0,
      ss = 0;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < 28; i++)
        for (let j = 0; j < 28; j++) {
          let y = 0;
          for (let di = -1; di <= 1; di++)
            for (let dj = -1; dj <= 1; dj++) {
              const a = i + di,
                bj = j + dj;
              if (a >= 0 && a < 28 && bj >= 0 && bj < 28)
                y += w[c * 9 + (di + 1) * 3 + dj + 1]! * x[b * 784 + a * 28 + bj]!;
            }
          s += y;
          ss += y * y;
        }
    const count = n * 784;
    const m = s / count;
    mean.push(m);
    variance.push((ss - count * m * m) / (count - 1));
  }
  return { mean, variance };
}

test('the exported statistics are the cumulative batch mean and unbiased variance over N batches, across epochs', async () => {
  const data = quadrantData(192, 1);
  const out = join(dir, 'run');
  const batches = 9; // 6 batches of 32 per epoch: the re-estimate reads a fresh epoch and 3 batches of the next
  const rec = await train({
    model: loadTrainableModel(new URL('../fixtures/tied_bn.onnx', import.meta.url).pathname),
    train: data,
    val: quadrantData(64, 2),
    classes,
    epochs: 1,
    batchSize: 32,
    schedule: { kind: 'constant', lr: 0.05, epochs: 1 },
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    seed: 3,
    outDir: out,
    threads: 1,
    bnRecalibrate: batches,
  });
  assert.equal(rec.bnRecalibrated?.batches, batches);
  assert.ok(rec.bnRecalibrated!.valAcc! >= 0 && rec.bnRecalibrated!.valAcc! <= 1);
  const m = loadModel(join(out, 'model.onnx'));
  const w = weight(m, 'conv.weight');
  const sums = { mean: [0, 0, 0, 0], variance: [0, 0, 0, 0] };
  let seen = 0;
  for (const epoch of [1, 2]) {
    for await (const b of data.batches({ batchSize: 32, epoch, seed: 3, shuffle: true, dropLast: true })) {
      if (seen === batches) break;
      const s = convStats(b.x, b.n, w, 4);
      for (let c = 0; c < 4; c++) {
        sums.mean[c]! += s.mean[c]!;
        sums.variance[c]! += s.variance[c]!;
      }
      seen++;
    }
  }
  const close = (got: Float64Array, want: number[], what: string) =>
    want.forEach((v, c) =>
      assert.ok(
        Math.abs(got[c]! - v / seen) <= 1e-5 * Math.max(1, Math.abs(v / seen)),
        `${what}[${c}]: ${got[c]} != ${v / seen}`,
      ),
    );
  close(weight(m, 'bn.running_mean'), sums.mean, 'running_mean');
  close(weight(m, 'bn.running_var'), sums.variance, 'running_var');
  // The checkpoint keeps the statistics training left (an exponential average), not the re-estimate.
  const ck = loadCheckpoint(out).tensors['model/bn.running_var']!.data as Float32Array;
  assert.notDeepEqual(
    Array.from(ck),
    Array.from(weight(m, 'bn.running_var'), (v) => Math.fround(v)),
  );
});
