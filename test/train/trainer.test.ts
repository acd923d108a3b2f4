// The host training loop: it learns, repeats exactly for a seed, resumes to the same weights, stops on NaN, saves on Ctrl-C.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { buildZooModel } from '../../src/zoo/index.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { UserError } from '../../src/util/errors.js';
import { quadrantData } from './synthetic.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'od-train-'));
  dirs.push(d);
  return d;
};
const model = () => loadModel(new URL('../fixtures/small_resnet_eval.onnx', import.meta.url).pathname);
const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);

function options(outDir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model: model(),
    train: quadrantData(192, 1),
    val: quadrantData(64, 2),
    classes,
    epochs: 3,
    batchSize: 32,
    schedule: { kind: 'constant', lr: 0.05, epochs: 3 },
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    seed: 3,
    outDir,
    threads: 1,
    ...over,
  };
}

test('a short run learns: loss falls and validation accuracy is far above chance', async () => {
  const out = tmp();
  const rec = await train(options(out, { epochs: 4, schedule: { kind: 'constant', lr: 0.05, epochs: 4 } }));
  assert.equal(rec.history.length, 4);
  assert.ok(
    rec.history[3]!.loss < rec.history[0]!.loss * 0.7,
    `loss ${rec.history.map((h) => h.loss.toFixed(3)).join(' -> ')}`,
  );
  assert.ok((rec.lastValAcc ?? 0) > 0.7, `val acc ${rec.lastValAcc}`);
  assert.ok(existsSync(join(out, 'model.onnx')) && existsSync(join(out, 'run.json')));
  const exported = loadModel(join(out, 'model.onnx'));
  assert.deepEqual(JSON.parse(exported.metadata().get('onnx_distill.classes')!), classes);
});

test('the same seed on CPU gives identical weights', async () => {
  const [a, b] = [tmp(), tmp()];
  await train(options(a, { epochs: 2 }));
  await train(options(b, { epochs: 2 }));
  assert.ok(readFileSync(join(a, 'model.onnx')).equals(readFileSync(join(b, 'model.onnx'))));
});

test('the same seed repeats exactly with 2 onnxruntime threads on a zoo ResNet-8 too', async () => {
  const [a, b] = [tmp(), tmp()];
  const zoo = () => buildZooModel('resnet8', { input: [1, 28, 28], classes: 10, seed: 0 });
  await train(options(a, { model: zoo(), threads: 2, epochs: 1, train: quadrantData(256, 1), batchSize: 128 }));
  await train(options(b, { model: zoo(), threads: 2, epochs: 1, train: quadrantData(256, 1), batchSize: 128 }));
  assert.ok(readFileSync(join(a, 'model.onnx')).equals(readFileSync(join(b, 'model.onnx'))));
});

test('a run resumed from its epoch checkpoint ends with the same weights as an uninterrupted one', async () => {
  const [full, part] = [tmp(), tmp()];
  await train(options(full, { epochs: 2 }));
  await train(options(part, { epochs: 1 }));
  await train(options(part, { epochs: 2, resume: true }));
  assert.ok(readFileSync(join(full, 'model.onnx')).equals(readFileSync(join(part, 'model.onnx'))));
});

test('Ctrl-C saves a mid-epoch checkpoint, and resuming from it reproduces the uninterrupted run', async () => {
  const [full, cut] = [tmp(), tmp()];
  await train(options(full, { epochs: 2 }));
  const data = quadrantData(192, 1, (epoch, i) => {
    if (epoch === 1 && i === 3) process.emit('SIGINT');
  });
  const rec = await train(options(cut, { epochs: 2, train: data }));
  assert.equal(rec.interrupted, true);
  const ck = loadCheckpoint(cut);
  assert.equal(ck.meta.reason, 'interrupt');
  assert.equal(ck.meta.epoch, 1);
  assert.equal(ck.meta.batchInEpoch, 4);
  await train(options(cut, { epochs: 2, resume: true }));
  assert.ok(readFileSync(join(full, 'model.onnx')).equals(readFileSync(join(cut, 'model.onnx'))));
});

test('a NaN loss stops the run with a clear error and keeps the last good checkpoint', async () => {
  const out = tmp();
  const o = options(out, {
    epochs: 3,
    schedule: { kind: 'multistep', lr: 0.05, epochs: 3, milestones: [1], gamma: 1e30 },
  });
  await assert.rejects(
    train(o),
    (err: unknown) =>
      err instanceof UserError && /loss became (NaN|Infinity|-Infinity)/.test(err.message) && err.message.includes(out),
  );
  const ck = loadCheckpoint(out);
  assert.equal(ck.meta.epoch, 1);
  assert.ok(Object.values(ck.tensors).every((t) => (t.data as Float32Array).every(Number.isFinite)));
  assert.equal(existsSync(join(out, 'model.onnx')), false);
});

test('time spent waiting for the loader is measured and a loader-bound epoch is called out', async () => {
  const fast = quadrantData(128, 1);
  // The same data behind a loader that takes 60 ms per batch: 4 batches, at least 0.24 s of waiting.
  const slow: typeof fast = {
    size: fast.size,
    async *batches(o) {
      for await (const b of fast.batches(o)) {
        await new Promise((r) => setTimeout(r, 60));
        yield b;
      }
    },
  };
  const lines: string[] = [];
  const rec = await train(options(tmp(), { epochs: 1, train: slow, log: (l) => lines.push(l) }));
  assert.ok(rec.history[0]!.dataWaitSeconds >= 0.2, `waited ${rec.history[0]!.dataWaitSeconds}`);
  assert.match(lines.join('\n'), /% of the epoch waiting for data: the loader is the bottleneck/);
  const quick = await train(options(tmp(), { epochs: 1, train: fast }));
  assert.ok(quick.history[0]!.dataWaitSeconds < rec.history[0]!.dataWaitSeconds / 4);
});
