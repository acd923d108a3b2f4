// --save-artifacts: a plain onnxruntime-node loop that follows only contract.json repeats the run to the same weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runNetworks } from '../../src/train/loop.js';
import { methodRun, tmp, trainedTeacher, zoo } from './helpers.js';

test('artifacts run step by step from the JSON contract give the same weights as the run itself', async () => {
  const teacher = await trainedTeacher();
  const dir = tmp();
  const o = methodRun('kd+fitnet', teacher, [zoo('cnn-tiny', 41)], {
    epochs: 2,
    saveArtifacts: dir,
    schedule: { kind: 'cosine', lr: 0.05, epochs: 2 },
  });
  await runNetworks(o);
  const c = JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract;
  const opts: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const init = await ort.InferenceSession.create(join(dir, c.initialState.file), opts);
  const state: Record<string, ort.Tensor> = { ...(await init.run({})) };
  for (const z of c.initialState.zeroSlots)
    state[z.name] = new ort.Tensor('float32', new Float32Array(z.shape.reduce((a, b) => a * b, 1)), z.shape);
  const step = await ort.InferenceSession.create(join(dir, c.step.file), opts);
  const [n, k] = c.step.labels!.shape as [number, number];
  let t = 0;
  for (let epoch = 0; epoch < c.epochs; epoch++) {
    for await (const b of o.train.batches({
      batchSize: c.batchSize,
      epoch,
      seed: o.seed,
      shuffle: true,
      dropLast: true,
    })) {
      const labels = new Float32Array(n * k);
      b.y.forEach((y, i) => {
        labels[i * k + y] = 1;
      });
      const feeds: Record<string, ort.Tensor> = {
        [c.step.image.input]: new ort.Tensor('float32', b.x, c.step.image.shape),
        [c.step.labels!.input]: new ort.Tensor('float32', labels, [n, k]),
        [c.step.lr.input]: new ort.Tensor('float32', Float32Array.of(c.step.lr.perStep[t]!), []),
      };
      for (const w of c.step.termWeights)
        feeds[w.input] = new ort.Tensor('float32', Float32Array.of(w.perEpoch[epoch]!), []);
      for (const name of step.inputNames) if (!feeds[name]) feeds[name] = state[name]!;
      const out = await step.run(feeds);
      for (const [from, into] of Object.entries(c.step.carry)) state[into] = out[from]!;
      t++;
    }
  }
  assert.equal(t, c.epochs * c.stepsPerEpoch);
  const ck = loadCheckpoint(o.outDir);
  const names = [...c.initialState.names, ...c.initialState.zeroSlots.map((z) => z.name)];
  assert.ok(
    names.some((x) => x.startsWith('fitnet/')),
    'the FitNets regressor is part of the state',
  );
  for (const name of names) {
    const a = state[name]!.data as Float32Array;
    const want = ck.tensors[name]!.data as Float32Array;
    assert.ok(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(want.buffer, want.byteOffset, want.byteLength),
      ),
      `${name} differs`,
    );
  }
  const evalSession = await ort.InferenceSession.create(join(dir, c.eval.file), opts);
  assert.deepEqual([...evalSession.outputNames].sort(), [...c.eval.outputs].sort());
});
