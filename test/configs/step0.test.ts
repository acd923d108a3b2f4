// Sample configs are documentation that runs (torchdistill's practice): every configs/<method>/<student>_from_<teacher>.yaml
// is compiled as `onnx-distill compile` does, and its step 0 (the first stage's, for a staged method) is run on one
// fixed batch; the total loss and each term must match the golden in test/fixtures/config_step0.json (a regression
// golden of this project's own numbers). A config without a golden fails. Regenerate: UPDATE_CONFIG_GOLDENS=1.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { compileDistill } from '../../src/pipeline/compileDistill.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { randn } from '../autodiff/gradcheck.js';

const root = new URL('../..', import.meta.url).pathname;
const goldenFile = join(root, 'test/fixtures/config_step0.json');
const update = process.env.UPDATE_CONFIG_GOLDENS === '1';
type Golden = { loss: number; terms: Record<string, number> };
const goldens = JSON.parse(readFileSync(goldenFile, 'utf8')) as Record<string, Golden>;

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : f.endsWith('.yaml') ? [p] : [];
    });
}
const configs = walk(join(root, 'configs')).map((p) => relative(root, p));

test('sample configs are named configs/<method>/<student>_from_<teacher>.yaml and each has a step-0 golden', () => {
  assert.ok(configs.length >= 8, `configs: ${configs.join(', ')}`);
  for (const c of configs) assert.match(c, /^configs\/[a-z0-9+-]+\/[a-z0-9.-]+_from_[a-z0-9.-]+\.yaml$/);
  if (!update)
    assert.deepEqual(
      Object.keys(goldens).sort(),
      [...configs].sort(),
      'test/fixtures/config_step0.json lists exactly the configs',
    );
});

// One step of the compiled graph from its initial state on a seeded batch with labels 0, 1, 2, ...
async function step0(dir: string, c: ArtifactContract): Promise<Golden> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const init = await ort.InferenceSession.create(join(dir, c.initialState.file), opts);
  const state: Record<string, ort.Tensor> = { ...(await init.run({})) };
  for (const z of c.initialState.zeroSlots)
    state[z.name] = new ort.Tensor('float32', new Float32Array(z.shape.reduce((a, b) => a * b, 1)), z.shape);
  const step = await ort.InferenceSession.create(join(dir, c.step.file), opts);
  const shape = c.step.image.shape;
  const r = randn(7);
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r());
  const [n, k] = c.step.labels!.shape as [number, number];
  const labels = new Float32Array(n * k);
  for (let i = 0; i < n; i++) labels[i * k + (i % k)] = 1;
  const feeds: Record<string, ort.Tensor> = {
    [c.step.image.input]: new ort.Tensor('float32', x, shape),
    [c.step.labels!.input]: new ort.Tensor('float32', labels, [n, k]),
    [c.step.lr.input]: new ort.Tensor('float32', Float32Array.of(c.step.lr.perStep[0]!), []),
  };
  const scalar = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);
  for (const w of c.step.termWeights) feeds[w.input] = scalar(w.perEpoch[0]!);
  for (const t of c.step.termInputs ?? []) feeds[t.input] = scalar(t.perEpoch[0]!);
  if (c.step.biasCorrection) {
    // The contract's rule at the first optimizer step (t = 1): bc1 = 1 − β1, bc2 = 1 − β2.
    const hyper = c.optimizer.hyper as { beta1: number; beta2: number };
    feeds[c.step.biasCorrection.bc1] = scalar(1 - hyper.beta1);
    feeds[c.step.biasCorrection.bc2] = scalar(1 - hyper.beta2);
  }
  for (const name of step.inputNames) if (!feeds[name]) feeds[name] = state[name]!;
  const out = await step.run(feeds, [c.step.report.loss, ...Object.values(c.step.report.terms)]);
  const value = (name: string) => Number(out[name]!.data[0]);
  const result = {
    loss: value(c.step.report.loss),
    terms: Object.fromEntries(Object.entries(c.step.report.terms).map(([t, o]) => [t, value(o)])),
  };
  // Independent of the golden: the total is the printed weighted sum of the named terms at epoch 0's weights.
  const sum = c.step.termWeights.reduce(
    (acc, w) => acc + w.perEpoch[0]! * result.terms[w.input.replace(/^w_/, '')]!,
    0,
  );
  assert.ok(
    Math.abs(sum - result.loss) <= 1e-4 * Math.abs(result.loss) + 1e-5,
    `loss ${result.loss} is not Σ w·term = ${sum}`,
  );
  await step.release();
  await init.release();
  return result;
}

for (const config of configs) {
  test(`${config}: step-0 loss and terms match the golden`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-step0-'));
    try {
      const compiled = await compileDistill({ config: join(root, config) } as never, dir);
      const [sub, contract] =
        'stages' in compiled ? [compiled.stages[0]!.dir, compiled.stages[0]!.contract] : ['', compiled];
      const got = await step0(join(dir, sub), contract);
      assert.ok(Number.isFinite(got.loss) && got.loss > 0, `${config}: loss ${got.loss}`);
      if (update) {
        goldens[config] = got;
        writeFileSync(goldenFile, `${JSON.stringify(goldens, null, 2)}\n`);
        return;
      }
      const want = goldens[config];
      assert.ok(want, `${config}: no golden in test/fixtures/config_step0.json (run with UPDATE_CONFIG_GOLDENS=1)`);
      assert.deepEqual(Object.keys(got.terms), Object.keys(want.terms), `${config}: terms`);
      const near = (a: number, b: number) => Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(b);
      assert.ok(near(got.loss, want.loss), `${config}: loss ${got.loss}, golden ${want.loss}`);
      for (const [t, v] of Object.entries(want.terms))
        assert.ok(near(got.terms[t]!, v), `${config}: term ${t} ${got.terms[t]}, golden ${v}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
