// The multi-network loop: the ensemble export, exact resume of an online run, frozen teachers, the printed loss.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import { Runtime } from '../../src/runtime/session.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runNetworks } from '../../src/train/loop.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

const softmax = (z: Float32Array, n: number, c: number) => {
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity,
      s = 0;
    for (let k = 0; k < c; k++) m = Math.max(m, z[i * c + k]!);
    for (let k = 0; k < c; k++) s += Math.exp(z[i * c + k]! - m);
    for (let k = 0; k < c; k++) out[i * c + k] = Math.exp(z[i * c + k]! - m) / s;
  }
  return out;
};

test("ensemble.onnx equals the mean of the exported students' softmax on a batch", async () => {
  const o = methodRun('dml', undefined, [zoo('cnn-tiny', 1), zoo('cnn-tiny', 2), zoo('cnn-tiny', 3)], { epochs: 1 });
  const rec = await runNetworks(o);
  assert.ok(rec.outputs.ensemble && rec.ensemble);
  const batch = (
    await quadrantData(16, 9)
      .batches({ batchSize: 16, epoch: 0, seed: 0, shuffle: false, dropLast: false })
      [Symbol.asyncIterator]()
      .next()
  ).value!;
  const rt = new Runtime({ threads: 1 });
  try {
    const run = async (file: string) => {
      const s = await rt.session(readFileSync(file));
      const r = await s.run({ [s.inputNames[0]!]: { type: 'float32', dims: [16, 1, 28, 28], data: batch.x.slice() } });
      return r[s.outputNames[0]!]!.data as Float32Array;
    };
    const probs = await run(rec.outputs.ensemble);
    const members = await Promise.all(
      ['student1', 'student2', 'student3'].map(async (n) => softmax(await run(rec.outputs[n]!), 16, 10)),
    );
    for (let i = 0; i < 160; i++) {
      const want = (members[0]![i]! + members[1]![i]! + members[2]![i]!) / 3;
      assert.ok(Math.abs(probs[i]! - want) < 1e-6, `element ${i}: ensemble ${probs[i]} vs mean ${want}`);
    }
  } finally {
    await rt.close();
  }
  const m = loadModel(rec.outputs.ensemble);
  assert.deepEqual(JSON.parse(m.metadata().get('onnx_distill.ensemble')!), ['student1', 'student2', 'student3']);
});

test('a K = 2 kdml run interrupted mid-epoch and resumed ends with the same weights as an uninterrupted one', async () => {
  const teacher = await trainedTeacher();
  const students = () => [zoo('cnn-tiny', 31), zoo('cnn-tiny', 32)];
  const full = methodRun('kdml', teacher, students(), { epochs: 2 });
  await runNetworks(full);
  const data = quadrantData(512, 1, (epoch, i) => {
    if (epoch === 1 && i === 5) process.emit('SIGINT');
  });
  const cut = methodRun('kdml', teacher, students(), { epochs: 2, train: data });
  const first = await runNetworks(cut);
  assert.equal(first.interrupted, true);
  const ck = loadCheckpoint(cut.outDir);
  assert.equal(ck.meta.reason, 'interrupt');
  assert.equal(ck.meta.epoch, 1);
  await runNetworks({ ...cut, train: quadrantData(512, 1), resume: true });
  for (const f of ['student1.onnx', 'student2.onnx', 'teacher.onnx', 'ensemble.onnx']) {
    assert.ok(
      readFileSync(join(full.outDir, f)).equals(readFileSync(join(cut.outDir, f))),
      `${f} differs after resume`,
    );
  }
});

test('a frozen teacher is forward-only: not in the state, same accuracy each epoch; the loss prints as a weighted sum', async () => {
  const teacher = await trainedTeacher();
  const lines: string[] = [];
  const o = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2, log: (l) => lines.push(l) });
  const rec = await runNetworks(o);
  const ck = loadCheckpoint(o.outDir);
  assert.ok(Object.keys(ck.tensors).length > 0 && Object.keys(ck.tensors).every((k) => !k.startsWith('teacher/')));
  assert.equal(rec.history[0]!.networks.teacher!.valAcc, rec.history[1]!.networks.teacher!.valAcc);
  const t = rec.networks.find((n) => n.name === 'teacher')!;
  assert.equal(t.role, 'teacher');
  assert.equal(t.bestValAcc, t.lastValAcc);
  assert.match(
    lines.join('\n'),
    /loss = 0\.1·ce\(student\.logits\) \+ 0\.9·kd\(student\.logits ← teacher\.logits, τ 4\)/,
  );
});
