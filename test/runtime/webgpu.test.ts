// `distill --device webgpu` against `--device cpu`: onnxruntime-node's WebGPU provider on the SwiftShader Vulkan driver
// that Debian's chromium package ships (no GPU needed; slow, ~1-6 s a step on 2 cores). A KD run and a staged MGD run
// of zoo:cnn-tiny (three max pools: the lowered MaxPool gradient) for a few steps each; the epoch losses and terms
// must agree within 1e-4 relative and the exported student's weights within 1e-4 of the largest (the same arithmetic
// in another order: WGSL kernels against MLAS). Then `eval` and `export` verification on WebGPU.
// Skipped, with the reason printed, where no WebGPU adapter comes up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import { SWIFTSHADER_ICD } from '../../src/runtime/devices/webgpu.js';
import { FIXTURES } from '../cli/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-webgpu-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
// SwiftShader unless the caller chose a Vulkan driver; chromium's own libvulkan where no libvulkan1 is installed.
const env = {
  ...process.env,
  ONNX_DISTILL_SOURCE: '1',
  VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
  LD_LIBRARY_PATH: [process.env.LD_LIBRARY_PATH, '/usr/lib/chromium'].filter(Boolean).join(':'),
};
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 600_000 });
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');
const small = [
  '--data',
  images,
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--teacher',
  teacher,
  '--student',
  'zoo:cnn-tiny',
  '--epochs',
  '1',
];
let adapter: string | undefined;

before(async () => {
  // A child process, so the driver variables apply from its start (the Vulkan loader reads them once).
  const probe = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import(${JSON.stringify(new URL('../../src/runtime/probe.ts', import.meta.url).href)}).then(async (m) => console.log(JSON.stringify(await m.probeDevice('webgpu'))))`,
    ],
    { encoding: 'utf8', env },
  );
  const line = probe.stdout.trim().split('\n').pop() ?? '';
  const verdict = line.startsWith('{')
    ? (JSON.parse(line) as { loads: boolean; reason?: string })
    : { loads: false, reason: probe.stderr.trim().slice(-300) };
  if (!verdict.loads) {
    adapter = verdict.reason ?? 'unknown';
    console.log(
      `# WebGPU tests skipped: no WebGPU adapter here (${existsSync(SWIFTSHADER_ICD) ? 'SwiftShader is installed but did not start' : "install Debian's chromium for its SwiftShader driver"}): ${adapter}`,
    );
    return;
  }
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 48);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

interface Summary {
  history: { loss: number; terms: Record<string, number> }[];
  stages?: { loss: string }[];
}

// The same run on both devices; returns each run's summary and folder.
function both(name: string, method: string[]): Record<'cpu' | 'webgpu', { s: Summary; dir: string }> {
  const out = {} as Record<'cpu' | 'webgpu', { s: Summary; dir: string }>;
  for (const device of ['cpu', 'webgpu'] as const) {
    const dir = join(root, `${name}-${device}`);
    const r = run(['distill', ...small, ...method, '--device', device, '--out', dir, '--json']);
    assert.equal(r.status, 0, `${name} on ${device}: ${r.stderr.slice(-2000)}`);
    out[device] = { s: JSON.parse(r.stdout) as Summary, dir };
  }
  return out;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

// Every initializer of two exported students, max |Δ| relative to the tensor's largest |value| (at least 1e-3, so a
// zero-initialised bias that stays at rounding noise is judged in absolute terms).
function weightsDelta(a: string, b: string): number {
  const ma = loadModel(a).graph,
    mb = loadModel(b).graph;
  let worst = 0;
  for (const v of ma.initializers) {
    const w = mb.values.get(v.name)?.constant;
    assert.ok(w, `initializer ${v.name} is missing from ${b}`);
    if (v.constant!.dtype !== 'float32') continue;
    const x = v.constant!.data as Float32Array,
      y = w.data as Float32Array;
    let scale = 0,
      d = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      d = Math.max(d, Math.abs(x[i]! - y[i]!));
    }
    worst = Math.max(worst, d / Math.max(scale, 1e-3));
  }
  return worst;
}

function compare(name: string, runs: ReturnType<typeof both>): void {
  const [c, g] = [runs.cpu.s.history, runs.webgpu.s.history];
  assert.equal(g.length, c.length);
  for (let e = 0; e < c.length; e++) {
    assert.ok(
      rel(g[e]!.loss, c[e]!.loss) < 1e-4,
      `${name} epoch ${e + 1} loss: webgpu ${g[e]!.loss}, cpu ${c[e]!.loss}`,
    );
    for (const [t, v] of Object.entries(c[e]!.terms))
      assert.ok(rel(g[e]!.terms[t]!, v) < 1e-4, `${name} term ${t}: webgpu ${g[e]!.terms[t]}, cpu ${v}`);
  }
  const d = weightsDelta(join(runs.cpu.dir, 'student.onnx'), join(runs.webgpu.dir, 'student.onnx'));
  assert.ok(d < 1e-4, `${name}: exported student weights differ by ${d.toExponential(2)} of their scale`);
}

test('distill --method kd on WebGPU (SwiftShader) equals the CPU: losses, terms, the exported student', (t) => {
  if (adapter) return t.skip(`no WebGPU adapter: ${adapter}`);
  compare('kd', both('kd', ['--method', 'kd']));
});

test('a staged method (mgd+kd: teacher heads, then the student) on WebGPU equals the CPU', (t) => {
  if (adapter) return t.skip(`no WebGPU adapter: ${adapter}`);
  const runs = both('mgd', ['--method', 'mgd+kd']);
  assert.equal(runs.webgpu.s.stages?.length, 2);
  compare('mgd+kd', runs);
});

test('eval and export verification on WebGPU', (t) => {
  if (adapter) return t.skip(`no WebGPU adapter: ${adapter}`);
  const student = join(root, 'kd-cpu', 'student.onnx');
  const ev = run([
    'eval',
    student,
    '--data',
    images,
    '--device',
    'webgpu',
    '--runs',
    '2',
    '--latency-batches',
    '1',
    '--json',
  ]);
  assert.equal(ev.status, 0, ev.stderr.slice(-2000));
  const report = JSON.parse(ev.stdout) as { runtime: { device: string }; accuracy: { images: number } };
  assert.equal(report.runtime.device, 'webgpu');
  assert.equal(report.accuracy.images, 32);
  const ex = run([
    'export',
    student,
    '--format',
    'fp32',
    '--data',
    images,
    '--verify-images',
    '32',
    '--device',
    'webgpu',
    '--out',
    join(root, 'student.fp32.onnx'),
    '--json',
  ]);
  assert.equal(ex.status, 0, ex.stderr.slice(-2000));
  const v = (
    JSON.parse(ex.stdout) as { verification: { nodeDevice: string; passed: boolean; node: { maxRelDelta: number } } }
  ).verification;
  assert.equal(v.nodeDevice, 'webgpu');
  assert.ok(v.passed && v.node.maxRelDelta < 1e-4, `export on webgpu: ${JSON.stringify(v)}`);
});
