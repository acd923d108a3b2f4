// SOKD end to end on the quadrant task: the KBM (role auxiliary) and the student are evaluated every epoch, the
// student and the improved teacher (frozen trunk + trained KBM) are exported, and the teacher's own weights stay put.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import { Runtime } from '../../src/runtime/session.js';
import { runNetworks } from '../../src/train/loop.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

test('sokd learns: student and KBM accuracy each epoch, teacher-kbm.onnx runs on images', async () => {
  const teacher = await trainedTeacher();
  const o = methodRun('sokd', teacher, [zoo('cnn-tiny', 20)], { epochs: 3 });
  const rec = await runNetworks(o);
  const h = rec.history;
  assert.ok(h[2]!.loss < h[0]!.loss, `loss ${h.map((e) => e.loss.toFixed(4)).join(' -> ')}`);
  for (const e of h)
    for (const n of ['student', 'kbm'])
      assert.ok(e.networks[n]?.valAcc !== undefined, `epoch ${e.epoch}: no ${n} accuracy`);
  const kbm = rec.networks.find((n) => n.name === 'kbm')!;
  assert.equal(kbm.role, 'auxiliary');
  assert.ok((kbm.lastValAcc ?? 0) > 0.7, `kbm val acc ${kbm.lastValAcc}`);
  assert.ok((rec.networks.find((n) => n.name === 'student')!.lastValAcc ?? 0) > 0.7);
  const file = rec.outputs['kbm+feeders']!;
  assert.ok(file && existsSync(file) && file.endsWith('teacher-kbm.onnx'));
  const m = loadModel(file);
  assert.equal(m.graph.inputs.length, 1, 'teacher-kbm.onnx takes only the image');
  const batch = (
    await quadrantData(64, 2)
      .batches({ batchSize: 64, epoch: 0, seed: 0, shuffle: false, dropLast: false })
      [Symbol.asyncIterator]()
      .next()
  ).value!;
  const rt = new Runtime({ threads: 1 });
  try {
    const s = await rt.session(readFileSync(file));
    const z = (await s.run({ [s.inputNames[0]!]: { type: 'float32', dims: [64, 1, 28, 28], data: batch.x.slice() } }))[
      s.outputNames[0]!
    ]!.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < 64; i++) {
      const row = z.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === batch.y[i]) correct++;
    }
    assert.ok(
      Math.abs(correct / 64 - kbm.lastValAcc!) < 1e-9,
      `teacher-kbm.onnx ${correct / 64} vs the loop's KBM accuracy ${kbm.lastValAcc}`,
    );
  } finally {
    await rt.close();
  }
});
