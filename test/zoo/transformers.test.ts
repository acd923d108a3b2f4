// The zoo's ViT (DeiT shapes) and ConvNeXt (atto/femto): timm's parameter counts, layout, and a short run that learns.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { countParameters } from '../../src/analysis/params.js';
import { command as modelsCommand } from '../../src/cli/commands/models.js';
import { main } from '../../src/cli/main.js';
import { classifyInitializers } from '../../src/ir/params.js';
import type { Model } from '../../src/ir/model.js';
import { train } from '../../src/train/trainer.js';
import type { TrainSplit } from '../../src/train/types.js';
import { buildZooModel, zooEntry } from '../../src/zoo/index.js';
import { quadrantData } from '../train/synthetic.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
// Counts of timm's configurations computed with torchvision's equivalent modules (scripts/fixtures/token_steps.py).
const ref = (
  JSON.parse(readFileSync(new URL('../fixtures/token_steps.json', import.meta.url), 'utf8')) as {
    zoo_params: Record<string, number>;
  }
).zoo_params;
// What the compiler trains and what `inspect`/`models` report must both be timm's count.
const count = (m: Model) => {
  const trained = classifyInitializers(m.graph).params.reduce((s, v) => s + v.constant!.size, 0);
  assert.equal(countParameters(m.graph).count, trained, 'inspect and the compiler count the same parameters');
  return trained;
};
const ops = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;

test("ViT parameter counts equal timm's DeiT-tiny/-small for every input size, patch and class count", () => {
  assert.equal(ref['vit-tiny 224px patch16 1000'], 5717416); // timm's published deit_tiny_patch16_224: 5.72M
  assert.equal(ref['vit-small 224px patch16 1000'], 22050664); // deit_small_patch16_224: 22.05M
  for (const [key, want] of Object.entries(ref).filter(([k]) => k.startsWith('vit'))) {
    const [name, px, patch, classes] = key.split(' ') as [string, string, string, string];
    const side = Number.parseInt(px, 10);
    const p = Number(patch.slice(5));
    for (const spec of [`${name}-p${p}`, ...(p === (side >= 128 ? 16 : 4) ? [name] : [])]) {
      assert.equal(
        count(buildZooModel(spec, { input: [3, side, side], classes: Number(classes) })),
        want,
        `${spec} ${key}`,
      );
    }
  }
  const m = buildZooModel('vit-tiny', { input: [3, 32, 32], classes: 10 });
  assert.equal(ops(m, 'Softmax'), 12);
  assert.equal(ops(m, 'LayerNormalization'), 25);
  assert.deepEqual(m.graph.values.get('pos_embed')!.constant!.dims, [1, 65, 192]); // 8x8 patches of 4 px + the class token
});

test("ConvNeXt parameter counts equal timm's atto/femto (3 or 1 input channels, any class count)", () => {
  assert.equal(ref['convnext-atto in3 1000'], 3695520); // timm's published convnext_atto: 3.70M
  assert.equal(ref['convnext-femto in3 1000'], 5217784); // convnext_femto: 5.22M
  for (const [key, want] of Object.entries(ref).filter(([k]) => k.startsWith('convnext'))) {
    const [name, ch, classes] = key.split(' ') as [string, string, string];
    for (const side of [32, 224])
      assert.equal(
        count(buildZooModel(name, { input: [Number(ch.slice(2)), side, side], classes: Number(classes) })),
        want,
        `${key} ${side}px`,
      );
  }
  // below 32 px the stem patchifies 2x2 instead of 4x4: only the stem's kernel changes
  assert.equal(
    count(buildZooModel('convnext-atto', { input: [1, 28, 28], classes: 10 })),
    ref['convnext-atto in1 10']! - 40 * 16 + 40 * 4,
  );
  assert.match(zooEntry('convnext-femto').describe, /48\/96\/192\/384/);
});

// The quadrant task with a stripe pattern per class on top: a pre-norm ViT's LayerNorms remove a patch's brightness
// (its embedding only scales), which is all the quadrant task shows, so the class is also drawn as stripes (rows,
// columns, diagonals, anti-diagonals), which change the embedding's direction.
function striped(d: TrainSplit): TrainSplit {
  const on = [
    (i: number, _j: number) => i % 4 < 2,
    (_i: number, j: number) => j % 4 < 2,
    (i: number, j: number) => (i + j) % 4 < 2,
    (i: number, j: number) => (i - j + 28) % 4 < 2,
  ];
  return {
    size: d.size,
    async *batches(o) {
      for await (const bt of d.batches(o)) {
        for (let n = 0; n < bt.n; n++)
          for (let i = 0; i < 28; i++)
            for (let j = 0; j < 28; j++) if (on[bt.y[n]!]!(i, j)) bt.x[n * 784 + i * 28 + j]! += 0.5;
        yield bt;
      }
    },
  };
}

test('`onnx-distill models` lists the ViTs and ConvNeXts with their counts', async () => {
  let out = '';
  const code = await main(
    ['models', '--input', '3x32x32', '--classes', '10', '--json'],
    {
      stdout: (t) => {
        out += t;
      },
      stderr: () => {},
    },
    [modelsCommand],
  );
  assert.equal(code, 0);
  const rows = new Map(
    (JSON.parse(out) as { models: { name: string; params: number }[] }).models.map((r) => [r.name, r.params]),
  );
  assert.equal(rows.get('vit-tiny'), ref['vit-tiny 32px patch4 10']);
  assert.equal(rows.get('vit-small'), ref['vit-small 32px patch4 10']);
  assert.equal(rows.get('convnext-atto'), ref['convnext-atto in3 10']);
  assert.equal(rows.get('convnext-femto'), ref['convnext-femto in3 10']);
});

// vit-tiny-p7: 16 tokens of 7x7 px (stripes of period 4 show in each), a quick run.
for (const [name, lr, data] of [
  ['vit-tiny-p7', 5e-4, striped],
  ['convnext-atto', 1e-3, (d: TrainSplit) => d],
] as const) {
  test(`${name} learns in a short run (AdamW on the quadrant task)`, async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'od-zoo-tok-'));
    dirs.push(outDir);
    const rec = await train({
      model: buildZooModel(name, { input: [1, 28, 28], classes: 10 }),
      train: data(quadrantData(256, 1)),
      val: data(quadrantData(64, 2)),
      classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
      epochs: 4,
      batchSize: 32,
      schedule: { kind: 'constant', lr, epochs: 4 },
      optimizer: 'adamw',
      hyper: { weightDecay: 0.05, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      seed: 1,
      outDir,
      threads: 2,
    });
    const losses = rec.history.map((h) => h.loss);
    assert.ok(losses[3]! < losses[0]! * 0.8, `loss ${losses.map((l) => l.toFixed(3)).join(' -> ')}`);
    assert.ok((rec.lastValAcc ?? 0) > 0.6, `val acc ${rec.lastValAcc} (4 classes: chance 0.25)`);
  });
}
