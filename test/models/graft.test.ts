// Grafting a teacher's head at a tap: a copy reproduces the teacher's logits (also from a BN-folded export, whose
// BatchNorm comes back in trainable form), a random graft is fresh, and a tap that is not a feature map is refused.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { compileInference } from '../../src/compiler/inference.js';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { loadModel, serializeModel, type Model } from '../../src/ir/model.js';
import { graftHead, lastStageInput } from '../../src/models/graft.js';
import { Runtime } from '../../src/runtime/session.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/ir/init.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

async function logits(bytes: Uint8Array, x: Float32Array, dims: number[], output?: string): Promise<Float32Array> {
  const s = await rt.session(bytes);
  try {
    const r = await s.run({ [s.inputNames[0]!]: { type: 'float32', dims, data: x } }, [output ?? s.outputNames[0]!]);
    return r[output ?? s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function batch(dims: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

// Teacher trunk + graft as one inference graph (what teacher-kbm.onnx is), against the teacher alone.
async function maxDiff(teacher: Model, graft: Model, tap: string, dims: number[]): Promise<number> {
  const nets: NetworkSpec[] = [
    { name: 'teacher', model: teacher, role: 'teacher', trainable: false },
    { name: 'kbm', model: graft, role: 'auxiliary', trainable: false, input: { network: 'teacher', tap } },
  ];
  const x = batch(dims, 3);
  const want = await logits(serializeModel(teacher).onnx, x, dims);
  const got = await logits(compileInference([nets[1]!], { feeders: [nets[0]!] }).bytes, x, dims, 'logits.kbm');
  assert.equal(got.length, want.length);
  return got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
}

test('a copy graft at the last stage input reproduces the teacher exactly (fixture ResNet, BatchNorm kept)', async () => {
  const teacher = loadModel(fixture('methods/teacher.onnx'));
  assert.equal(lastStageInput(teacher), 'f1');
  const g = graftHead(teacher, { init: 'copy', seed: 0 });
  assert.deepEqual(g.shape, [8, 28, 28]);
  assert.equal(g.restoredBatchNorm, false);
  assert.equal(await maxDiff(teacher, g.model, g.tap, [4, 1, 28, 28]), 0);
});

test('a copy graft of a BN-folded MobileNetV2 export gets trainable BatchNorm back and the same logits', async (t) => {
  const teacher = loadModel(fixture('mobilenetv2_folded.onnx'));
  const g = graftHead(teacher, { init: 'copy', seed: 0 });
  assert.equal(g.restoredBatchNorm, true);
  assert.ok(g.model.graph.nodes.some((n) => n.opType === 'BatchNormalization'));
  assert.ok(!teacher.graph.nodes.some((n) => n.opType === 'BatchNormalization'));
  const d = await maxDiff(teacher, g.model, g.tap, [2, 3, 64, 64]);
  t.diagnostic(`graft ${g.tap} ${JSON.stringify(g.shape)}: max |Δ logits| ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `max |Δ| ${d}`);
});

test('a random graft has fresh weights; a tap that is not a 4-D feature map is a clear error', async () => {
  const teacher = loadModel(fixture('methods/teacher.onnx'));
  const g = graftHead(teacher, { init: 'random', seed: 1 });
  assert.ok((await maxDiff(teacher, g.model, g.tap, [2, 1, 28, 28])) > 1e-3);
  assert.throws(
    () => graftHead(teacher, { tap: 'embedding', init: 'copy', seed: 0 }),
    (e: unknown) => e instanceof UserError && /not a 4-D feature map/.test(e.message),
  );
  assert.throws(() => graftHead(teacher, { tap: 'no_such_value', init: 'copy', seed: 0 }), UserError);
});
