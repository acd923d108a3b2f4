// `onnx-distill serve` in a real browser: headless Debian chromium (driven by playwright-core) opens the page, picks
// the teacher file and an image folder as a user would, reports its WebGPU adapter (or none), trains 20 steps on a fixed
// batch with onnxruntime-web (wasm), which must equal onnxruntime-node's 20 steps of the same artifacts within 1e-5
// relative, then downloads the fp32 student the project's exporter wrote, whose logits in the tab must be within 1e-4
// of onnxruntime-node's. Skipped, with the reason printed, where chromium is not installed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { startServer } from '../../src/cli/serve/server.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { FIXTURES } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const root = mkdtempSync(join(tmpdir(), 'od-serve-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Fixed {
  losses: number[];
  x: number[];
  labels: number[];
  job: string;
  backend: string;
}

// onnxruntime-node's run of the same artifacts: initial state, then `steps` steps on the page's batch, as contract.json says.
async function nodeSteps(dir: string, f: Fixed, steps: number): Promise<number[]> {
  const c = JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract;
  const init = await ort.InferenceSession.create(join(dir, c.initialState.file));
  const state: Record<string, ort.Tensor> = { ...(await init.run({})) };
  for (const z of c.initialState.zeroSlots)
    state[z.name] = new ort.Tensor('float32', new Float32Array(z.shape.reduce((a, b) => a * b, 1)), z.shape);
  const step = await ort.InferenceSession.create(join(dir, c.step.file), { executionProviders: ['cpu'] });
  const labels = c.step.labels!;
  const [B, K] = labels.shape as [number, number];
  const onehot = new Float32Array(B * K);
  f.labels.forEach((y, i) => {
    onehot[i * K + y] = 1;
  });
  const scalar = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);
  const losses: number[] = [];
  for (let k = 0; k < steps; k++) {
    const feeds: Record<string, ort.Tensor> = {
      ...state,
      [c.step.image.input]: new ort.Tensor('float32', Float32Array.from(f.x), c.step.image.shape),
      [labels.input]: new ort.Tensor('float32', onehot, [B, K]),
      [c.step.lr.input]: scalar(c.step.lr.perStep[Math.min(k, c.step.lr.perStep.length - 1)]!),
    };
    for (const w of c.step.termWeights) feeds[w.input] = scalar(w.perEpoch[0]!);
    const out = await step.run(Object.fromEntries(step.inputNames.map((n) => [n, feeds[n]!])));
    for (const [o, i] of Object.entries(c.step.carry)) state[i] = out[o]!;
    losses.push((out[c.step.report.loss]!.data as Float32Array)[0]!);
  }
  return losses;
}

test(
  "serve: the page trains 20 steps equal to onnxruntime-node, downloads an fp32 student equal to node's, reports its WebGPU adapter",
  { timeout: 170_000 },
  async (t) => {
    if (!existsSync(CHROMIUM))
      return t.skip(`no chromium at ${CHROMIUM} (Debian's chromium package; CHROMIUM= to point elsewhere)`);
    const started = performance.now();
    const { chromium } = await import('playwright-core');
    const images = join(root, 'images');
    const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
    await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
    await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
    const server = await startServer({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launchPersistentContext(mkdtempSync(join(root, 'profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}?student=zoo:cnn-tiny&method=kd&batch=16&epochs=5`);
      // Page-side expressions are strings: this project's TypeScript has no DOM types.
      await page.waitForFunction('window.onnxDistill?.ready', null, { timeout: 30_000 });
      assert.match((await page.textContent('#privacy')) ?? '', /Nothing leaves this machine/);
      const adapter = await page.textContent('#adapter');
      assert.ok(adapter && adapter !== 'probing…', `the page reports no adapter verdict: ${adapter}`);
      t.diagnostic(`WebGPU adapter in headless chromium: ${adapter}`);
      await page.setInputFiles('#teacher', join(FIXTURES, 'small_resnet_eval.onnx'));
      await page.setInputFiles('#images', images);
      await page.waitForFunction('!document.getElementById("train").disabled', null, { timeout: 60_000 });
      assert.match((await page.textContent('#status')) ?? '', /64 training and 32 validation images in 10 classes/);

      const f = (await page.evaluate('window.onnxDistill.fixedBatch(20, "wasm")')) as Fixed;
      assert.match(f.backend, /^wasm/);
      const want = await nodeSteps(join(server.jobs.root, f.job), f, 20);
      assert.equal(f.losses.length, 20);
      let worstStep = 0;
      for (let k = 0; k < 20; k++) {
        const rel = Math.abs(f.losses[k]! - want[k]!) / Math.abs(want[k]!);
        worstStep = Math.max(worstStep, rel);
        assert.ok(
          rel <= 1e-5,
          `step ${k + 1}: onnxruntime-web ${f.losses[k]}, onnxruntime-node ${want[k]} (${rel.toExponential(2)} relative)`,
        );
      }
      t.diagnostic(`20 wasm steps vs onnxruntime-node: worst loss ${worstStep.toExponential(2)} relative`);
      assert.ok(want[19]! < want[0]!, `20 steps on one batch did not lower the loss (${want[0]} -> ${want[19]})`);

      const [download, exported] = await Promise.all([
        page.waitForEvent('download', { timeout: 90_000 }),
        page.evaluate(
          'window.onnxDistill.exportStudent("fp32").then((e) => ({ passed: e.verification.passed, first: e.first }))',
        ) as Promise<{ passed: boolean; first: { x: number[]; dims: number[]; logits: number[] } }>,
      ]);
      assert.equal(download.suggestedFilename(), 'student.fp32.onnx');
      assert.ok(exported.passed, 'the fp32 export failed its verification');
      const bytes = readFileSync(await download.path());
      const s = await ort.InferenceSession.create(bytes);
      const out = await s.run({
        [s.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(exported.first.x), exported.first.dims),
      });
      const node = out[s.outputNames[0]!]!.data as Float32Array;
      assert.equal(node.length, exported.first.logits.length);
      const worst = Math.max(...exported.first.logits.map((v, i) => Math.abs(v - node[i]!)));
      assert.ok(worst <= 1e-4, `the downloaded student's logits in the tab differ from onnxruntime-node's by ${worst}`);
      t.diagnostic(`exported fp32 student, tab (wasm) vs onnxruntime-node: max |Δlogit| ${worst.toExponential(2)}`);
      assert.deepEqual(errors, []);
      t.diagnostic(`browser test took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);

test('serve: a bad --port is a usage error (exit 2) naming the option', async () => {
  const { cli } = await import('./helpers.js');
  const r = await cli(['serve', '--port', '70000']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--port: '70000' is not a TCP port/);
});

test('serve API: COOP/COEP page, unknown teacher, paths outside a job, a slim: student compiled from an uploaded teacher, a class-count mismatch', async () => {
  const server = await startServer({ port: 0, host: '127.0.0.1' });
  try {
    const compile = await fetch(`${server.url}api/compile`, {
      method: 'POST',
      body: JSON.stringify({
        teacher: 't99',
        student: 'zoo:cnn',
        method: 'kd',
        epochs: 1,
        batchSize: 8,
        classes: ['a', 'b'],
        trainSize: 16,
        mean: [0.5],
        std: [0.5],
      }),
    });
    assert.equal(compile.status, 400);
    assert.match(((await compile.json()) as { error: string }).error, /teacher 't99'/);
    const escape = await fetch(`${server.url}api/job/j1/..%2F..%2Fetc%2Fpasswd`);
    assert.equal(escape.status, 400);
    const page = await fetch(server.url);
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.match(await page.text(), /Nothing leaves this machine/);
    const outside = await fetch(`${server.url}..%2Fpackage.json`);
    assert.equal(outside.status, 404);
    // A slim: student of an uploaded teacher compiles to the same artifacts `compile` writes, plus the WebGPU step.
    const teacher = (await (
      await fetch(`${server.url}api/teacher`, {
        method: 'POST',
        body: readFileSync(join(FIXTURES, 'small_resnet_eval.onnx')),
      })
    ).json()) as { id: string; input: number[]; classes: number };
    assert.deepEqual([teacher.input, teacher.classes], [[1, 28, 28], 10]);
    const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const slim = await fetch(`${server.url}api/compile`, {
      method: 'POST',
      body: JSON.stringify({
        teacher: teacher.id,
        student: 'slim:0.5',
        method: 'kd',
        epochs: 2,
        batchSize: 8,
        classes,
        trainSize: 40,
        mean: [0.3],
        std: [0.35],
      }),
    });
    assert.equal(slim.status, 200, await slim.clone().text());
    const job = (await slim.json()) as { job: string; contract: ArtifactContract; files: Record<string, string> };
    assert.deepEqual(job.contract.step.image.shape, [8, 1, 28, 28]);
    assert.equal(job.contract.step.lr.perStep.length, 10);
    assert.deepEqual(job.contract.preprocess, {
      input: [1, 28, 28],
      mean: [0.3],
      std: [0.35],
      statsFrom: 'data',
      cropFraction: 1,
    });
    for (const f of Object.values(job.files))
      assert.equal((await fetch(`${server.url}api/job/${job.job}/${f}`)).status, 200, f);
    const mismatch = await fetch(`${server.url}api/compile`, {
      method: 'POST',
      body: JSON.stringify({
        teacher: teacher.id,
        student: 'zoo:cnn',
        method: 'kd',
        epochs: 1,
        batchSize: 8,
        classes: ['a', 'b'],
        trainSize: 40,
        mean: [0.3],
        std: [0.35],
      }),
    });
    assert.match(
      ((await mismatch.json()) as { error: string }).error,
      /predicts 10 classes but the image folder has 2/,
    );
    // CRD's step reads sample indices and negatives only onnx-distill's loop makes: not offered, refused if asked for.
    const info = (await (await fetch(`${server.url}api/info`)).json()) as { methods: string[] };
    assert.ok(info.methods.includes('kd') && !info.methods.includes('crd'), info.methods.join(', '));
    const crd = await fetch(`${server.url}api/compile`, {
      method: 'POST',
      body: JSON.stringify({
        teacher: teacher.id,
        student: 'zoo:cnn',
        method: 'crd',
        epochs: 1,
        batchSize: 8,
        classes,
        trainSize: 40,
        mean: [0.3],
        std: [0.35],
      }),
    });
    assert.equal(crd.status, 400);
    assert.match(
      ((await crd.json()) as { error: string }).error,
      /term crd reads per-batch inputs .*run it with `onnx-distill distill`/,
    );
  } finally {
    await server.close();
  }
});
