// Taps on classifiers that are not plain NCHW CNNs (fixtures from scripts/fixtures/tap_models.py, PyTorch exports):
// ConvNeXt's channels-last LayerNorms, a fully channels-last (Swin-like) net, SqueezeNet's conv classifier, and a
// ViT's token maps. Stage taps are always the channels-first map of each resolution; a view is added when placed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { placeNetwork, tapValue } from '../../src/compiler/network.js';
import { Graph } from '../../src/ir/graph.js';
import { loadModel, Model, serializeModel } from '../../src/ir/model.js';
import { inferShapes } from '../../src/ir/passes/shapes.js';
import { lastStageInput } from '../../src/models/graft.js';
import { autoTaps } from '../../src/models/taps.js';
import { UserError } from '../../src/util/errors.js';
import { openRunner } from '../../src/runtime/inference.js';

const TAPS = new URL('../fixtures/taps/', import.meta.url).pathname;
const load = (file: string) => loadModel(join(TAPS, file));
function analysed(file: string, size: number) {
  const m = load(file);
  inferShapes(m.graph, { inputShapes: { input: [1, 3, size, size] } });
  return autoTaps(m.graph);
}

describe('stage taps whatever the layout', () => {
  test('ConvNeXt: one channels-first stage per resolution (the block outputs), not its channels-last LayerNorm views', () => {
    const t = analysed('convnext.onnx', 64);
    assert.deepEqual(
      t.stages.map((s) => s.shape),
      [
        [1, 8, 16, 16],
        [1, 16, 8, 8],
        [1, 24, 4, 4],
        [1, 32, 2, 2],
      ],
    );
    assert.ok(
      t.stages.every((s) => s.layout === 'nchw' && !s.view && /features\.[1357]\/.*Add_output_0$/.test(s.value)),
      JSON.stringify(t.stages),
    );
    assert.deepEqual(t.embedding.shape, [1, 32]);
    assert.equal(t.blocks, undefined);
  });

  test('a channels-last net: its NHWC stage maps are tapped through a transpose, with NCHW shapes', () => {
    const t = analysed('nhwc.onnx', 32);
    assert.deepEqual(
      t.stages.map((s) => [s.shape, s.view]),
      [
        [[1, 16, 8, 8], 'nhwc-to-nchw'],
        [[1, 32, 4, 4], 'nhwc-to-nchw'],
      ],
    );
    assert.equal(t.stem?.value, '/stem/Conv_output_0');
  });

  test("SqueezeNet's conv classifier is recognised: stages up to its input, the embedding pools that map", () => {
    const t = analysed('squeezenet.onnx', 32);
    assert.deepEqual(
      t.stages.map((s) => s.shape),
      [
        [1, 16, 7, 7],
        [1, 32, 3, 3],
      ],
    );
    assert.deepEqual(
      [t.embedding.shape, t.embedding.view, t.embedding.value],
      [[1, 32], 'global-pool', t.stages[1]!.value],
    );
  });

  test('ViT: no 4-D stages (the patch embedding is the stem), one token map [N, T, D] per encoder block', () => {
    const t = analysed('vit.onnx', 32);
    assert.deepEqual(t.stages, []);
    assert.deepEqual(t.stem?.shape, [1, 32, 4, 4]);
    assert.deepEqual(
      t.blocks?.map((b) => [b.name, b.layout, b.shape]),
      [
        ['b1', 'tokens', [1, 17, 32]],
        ['b2', 'tokens', [1, 17, 32]],
      ],
    );
    assert.match(t.blocks![1]!.value, /encoder_layer_1\/Add_1_output_0$/);
    assert.deepEqual(t.embedding.shape, [1, 32]);
  });
});

// Run a placed network with its raw values and its taps as outputs.
async function runPlaced(file: string, taps: string[], batch: number): Promise<Record<string, Float32Array>> {
  const g = new Graph('probe');
  const x = g.value('input', { dtype: 'float32', shape: [batch, 3, 32, 32] });
  g.inputs.push(x);
  const net = placeNetwork(
    g,
    x,
    { name: 'teacher', model: load(file), role: 'teacher', trainable: false },
    { mode: 'infer', batch },
  );
  const outs = taps.map((t) => tapValue(net, t));
  const raw = taps.map((t) =>
    net.byOriginal.get(
      net
        .taps!.stages.concat(net.taps!.embedding)
        .find((s) => s.name === t)!
        .value.replace(/\/tap_\w+$/, ''),
    )!,
  );
  g.outputs.push(...outs, ...raw);
  const runner = await openRunner('node', serializeModel(new Model(g, new Map([['', 18]]))).onnx);
  try {
    const xs = Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
    const r = await runner.run(xs, [batch, 3, 32, 32]);
    return Object.fromEntries(
      [...outs, ...raw].map((v, i) => [i < outs.length ? taps[i]! : `raw:${taps[i - outs.length]}`, r[v.name]!.data]),
    );
  } finally {
    await runner.close();
  }
}

describe('views added when a network is placed', () => {
  test("a channels-last stage tap yields the NCHW transpose of the graph's own value", async () => {
    const r = await runPlaced('nhwc.onnx', ['f1'], 2);
    const [n, c, h, w] = [2, 16, 8, 8];
    const raw = r['raw:f1']!;
    const want = new Float32Array(n * c * h * w);
    for (let a = 0; a < n; a++)
      for (let y = 0; y < h; y++)
        for (let z = 0; z < w; z++)
          for (let k = 0; k < c; k++) {
            want[((a * c + k) * h + y) * w + z] = raw[((a * h + y) * w + z) * c + k]!;
          }
    assert.deepEqual(r.f1, want);
  });

  test("a conv classifier's embedding is the spatial mean of its input map", async () => {
    const r = await runPlaced('squeezenet.onnx', ['embedding'], 2);
    const raw = r['raw:embedding']!;
    const [n, c, hw] = [2, 32, 9];
    for (let a = 0; a < n; a++)
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let i = 0; i < hw; i++) sum += raw[(a * c + k) * hw + i]!;
        assert.ok(Math.abs(r.embedding![a * c + k]! - sum / hw) < 1e-5, `embedding[${a},${k}]`);
      }
  });
});

test("a graft (SOKD's knowledge bridge) refuses a transformer teacher, naming token maps; a ConvNeXt gets its last-stage input", () => {
  assert.throws(
    () => lastStageInput(load('vit.onnx')),
    (e: unknown) => e instanceof UserError && /transformer: its blocks are token maps \[N, T, D\]/.test(e.message),
  );
  assert.equal(lastStageInput(load('convnext.onnx')), 'f3');
});

test('the zoo ViT records no stages; its encoder blocks come from the walk (b1..b12), the position embedding is not one', async () => {
  const { buildZooModel } = await import('../../src/zoo/index.js');
  const { findTaps } = await import('../../src/models/taps.js');
  const m = buildZooModel('vit-tiny-p8', { input: [3, 32, 32], classes: 10 });
  inferShapes(m.graph, { inputShapes: { input: [1, 3, 32, 32] } });
  const t = findTaps(m);
  assert.equal(t.source, 'metadata');
  assert.deepEqual(
    t.blocks?.map((b) => [b.name, b.shape]),
    Array.from({ length: 12 }, (_, i) => [`b${i + 1}`, [1, 17, 192]]),
  );
});
