// One-shot GPU check (issue 19): `npm run device-check [-- --out DIR] [--budget 480] [--no-markdown]`. Never part of
// `npm test`. It lists which execution providers load here (CUDA when onnxruntime-node's CUDA binaries are installed;
// WebGPU through the GPU's Vulkan driver, or SwiftShader), runs a train (CE) step and a distill (KD) step on each against
// the CPU from the same state and batch (equal within a stated tolerance), and, when an NVIDIA GPU is present, times
// the step (median of 30 after 5 warm-up) and a short KD job (`distill --epochs 1` on 2,048 images) against the CPU.
// Writes <out>/device-check.json and the `device-check` section of BENCHMARKS.md. Without a GPU it says so, reports
// what loaded, and still checks equality on any non-CPU provider that loaded (SwiftShader's WebGPU, at a tiny batch).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStep, type CompiledStep } from '../src/compiler/step.js';
import { loadModel } from '../src/ir/model.js';
import { engineVersions } from '../src/runtime/inference.js';
import { probeDevice } from '../src/runtime/probe.js';
import { Runtime } from '../src/runtime/session.js';
import type { TensorData } from '../src/runtime/tensor.js';
import { initialState } from '../src/train/state.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { resolveModelSpec } from '../src/zoo/index.js';
import { replaceSection } from './bench/sections.js';

const root = new URL('..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const outDir = arg('out', join(root, 'bench-results', 'device-check'));
const budgetS = Number(arg('budget', '480'));
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const threads = cpus().length;
// A step on another device is the same arithmetic in another order (cuDNN / WGSL kernels): loss and every updated
// tensor within this of the CPU's, relative to the tensor's largest magnitude.
const TOLERANCE = 1e-3;
const hyper = { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

interface Gpu {
  name: string;
  driver: string;
  memory: string;
}
function nvidiaGpus(): Gpu[] {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || !r.stdout) return [];
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [name, driver, memory] = l.split(',').map((s) => s.trim());
      return { name: name!, driver: driver!, memory: memory! };
    });
}

// The two steps checked: a CE step of zoo:resnet8 (train) and a KD step, shipped teacher -> zoo:cnn (distill).
function steps(batch: number): Record<'train' | 'distill', CompiledStep> {
  const opts = { input: [1, 28, 28] as [number, number, number], classes: 10, seed: 0 };
  const teacher = loadModel(join(root, 'models/fashion-mnist-teacher/model.onnx'));
  return {
    train: compileStep({
      networks: [{ name: 'model', model: resolveModelSpec('zoo:resnet8', opts), role: 'student', trainable: true }],
      terms: [{ term: 'ce', name: 'ce', taps: { logits: 'model.logits' } }],
      batch,
      optimizer: 'sgd',
      hyper,
    }),
    distill: compileStep({
      networks: [
        { name: 'teacher', model: teacher, role: 'teacher', trainable: false },
        { name: 'student', model: resolveModelSpec('zoo:cnn', opts), role: 'student', trainable: true },
      ],
      terms: [
        { term: 'ce', name: 'ce', taps: { logits: 'student.logits' } },
        { term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' }, options: { tau: 4 } },
      ],
      batch,
      optimizer: 'sgd',
      hyper,
    }),
  };
}

function feeds(step: CompiledStep, batch: number): Record<string, TensorData> {
  const n = batch * 28 * 28;
  const labels = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) labels[i * 10 + ((i * 7) % 10)] = 1;
  const f: Record<string, TensorData> = {
    [step.inputName]: {
      type: 'float32',
      dims: [batch, 1, 28, 28],
      data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 1.5),
    },
    labels: { type: 'float32', dims: [batch, 10], data: labels },
    lr: { type: 'float32', dims: [], data: Float32Array.of(0.05) },
  };
  for (const t of step.terms)
    f[`w_${t.name}`] = { type: 'float32', dims: [], data: Float32Array.of(t.term === 'ce' ? 0.1 : 0.9) };
  return f;
}
const clone = (f: Record<string, TensorData>) =>
  Object.fromEntries(Object.entries(f).map(([k, t]) => [k, { ...t, data: t.data.slice() } as TensorData]));

interface StepRun {
  outputs: Record<string, TensorData>;
  medianS?: number;
  spreadS?: [number, number];
}
// One step from the initial state (its outputs), then, when timed, 5 warm-up and 30 timed steps.
async function runStep(device: string, step: CompiledStep, batch: number, timed: boolean): Promise<StepRun> {
  const rt = new Runtime({ device, threads });
  try {
    await rt.setState(initialState(step));
    const s = await rt.session(step.bytes, `the ${device} step`);
    const f = feeds(step, batch);
    const fetch = ['loss', ...Object.keys(step.carry)];
    const outputs = await s.run(clone(f), fetch, {});
    if (!timed) return { outputs };
    await rt.setState(initialState(step));
    const times: number[] = [];
    for (let i = 0; i < 35; i++) {
      const t = performance.now();
      await s.run(clone(f), ['loss'], step.carry);
      if (i >= 5) times.push((performance.now() - t) / 1000);
    }
    times.sort((a, b) => a - b);
    return { outputs, medianS: times[15]!, spreadS: [times[0]!, times[29]!] };
  } finally {
    await rt.close();
  }
}

// Largest |device − cpu| over the loss and every updated tensor, relative to each tensor's largest |cpu| value (at least
// SCALE_FLOOR: a tensor that stays near 0, such as a zero-initialised conv bias before BatchNorm whose gradient is 0 up
// to rounding, is judged in absolute terms).
const SCALE_FLOOR = 1e-3;
function worstRelative(
  cpu: Record<string, TensorData>,
  dev: Record<string, TensorData>,
): { worst: number; at: string } {
  let worst = 0,
    at = '';
  for (const [name, t] of Object.entries(cpu)) {
    const a = t.data as Float32Array,
      b = dev[name]!.data as Float32Array;
    let scale = 0,
      d = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i]!));
      d = Math.max(d, Math.abs(a[i]! - b[i]!));
    }
    const r = Number.isNaN(d) ? Infinity : d / Math.max(scale, SCALE_FLOOR);
    if (r > worst) {
      worst = r;
      at = name;
    }
  }
  return { worst, at };
}

// A short KD job through the CLI on a 2,048/512-image Fashion-MNIST folder: wall seconds and validation accuracy.
function kdJob(
  device: string,
  data: string,
): { wallS: number; valAcc: number | null; imagesPerSecond: number | null; error?: string } {
  const t = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bin/onnx-distill.js'),
      'distill',
      '--data',
      data,
      '--student',
      'zoo:cnn',
      '--method',
      'kd',
      '--epochs',
      '1',
      '--batch-size',
      '128',
      '--device',
      device,
      '--out',
      join(tmpdir(), `device-check-kd-${device}`),
      '--json',
    ],
    { encoding: 'utf8', env: { ...process.env, ONNX_DISTILL_SOURCE: '1' }, timeout: 240_000 },
  );
  const wallS = (performance.now() - t) / 1000;
  if (r.status !== 0)
    return {
      wallS,
      valAcc: null,
      imagesPerSecond: null,
      error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' '),
    };
  const j = JSON.parse(r.stdout) as {
    networks: { role: string; lastValAcc: number | null }[];
    history: { imagesPerSecond: number }[];
  };
  return {
    wallS,
    valAcc: j.networks.find((n) => n.role === 'student')?.lastValAcc ?? null,
    imagesPerSecond: j.history[0]?.imagesPerSecond ?? null,
  };
}

async function subsetFolder(): Promise<string> {
  const dir = join(tmpdir(), 'device-check-fmnist');
  if (!existsSync(join(dir, 'val'))) {
    const { exportSplit } = await import('./export-fashion-mnist-png.js');
    const { openIdx } = await import('../src/data/sources/idx.js');
    const idx = openIdx(join(root, 'models/fashion-mnist-subset'));
    await exportSplit(idx.train as never, idx.classes, join(dir, 'train'), 2048);
    await exportSplit(idx.val as never, idx.classes, join(dir, 'val'), 512);
  }
  return dir;
}

// The whole check stays under 8 minutes whatever hangs (a driver, a compile).
setTimeout(() => {
  process.stderr.write(`device check: still running after ${budgetS} s; stopped\n`);
  process.exit(1);
}, budgetS * 1000).unref();
const gpus = nvidiaGpus();
const swiftshader = /swiftshader/i.test(process.env.VK_ICD_FILENAMES ?? '');
const hasGpu = gpus.length > 0;
const say = (s: string) => process.stdout.write(`${s}\n`);
say(
  hasGpu
    ? `GPU: ${gpus.map((g) => `${g.name} (driver ${g.driver}, ${g.memory})`).join('; ')}`
    : 'no NVIDIA GPU here (nvidia-smi absent or lists none): providers are listed and checked for equality, nothing is timed',
);
const providers = [];
for (const d of ['cpu', 'cuda', 'webgpu']) {
  const p = await probeDevice(d);
  providers.push(p);
  say(`${d.padEnd(7)} ${p.loads ? 'loads' : `does not load: ${p.reason}`}`);
}
const loaded = providers.filter((p) => p.loads && p.device !== 'cpu').map((p) => p.device);
// A GPU machine checks at the benchmark batch; SwiftShader (no GPU) at a batch it finishes in seconds.
const batch = hasGpu ? 128 : 8;
const checks: Record<string, unknown>[] = [];
if (loaded.length) {
  const compiled = steps(batch);
  for (const kind of ['train', 'distill'] as const) {
    const cpu = await runStep('cpu', compiled[kind], batch, hasGpu);
    for (const device of loaded) {
      if (elapsed() > budgetS * 0.6) {
        checks.push({ kind, device, skipped: 'out of the time budget' });
        continue;
      }
      try {
        const dev = await runStep(device, compiled[kind], batch, hasGpu);
        const { worst, at } = worstRelative(cpu.outputs, dev.outputs);
        const row = {
          kind,
          device,
          batch,
          equal: worst <= TOLERANCE,
          worstRelative: worst,
          worstTensor: at,
          tolerance: TOLERANCE,
          ...(dev.medianS
            ? {
                stepS: dev.medianS,
                stepSpreadS: dev.spreadS,
                cpuStepS: cpu.medianS,
                speedup: cpu.medianS! / dev.medianS,
              }
            : {}),
        };
        checks.push(row);
        say(
          `${kind} step on ${device}: ${row.equal ? 'equal' : 'DIFFERENT'} to the CPU (worst ${worst.toExponential(2)} relative, ${at})${dev.medianS ? `, ${(dev.medianS * 1000).toFixed(1)} ms vs ${(cpu.medianS! * 1000).toFixed(1)} ms on the CPU` : ''}`,
        );
      } catch (err: unknown) {
        checks.push({ kind, device, error: err instanceof Error ? err.message : String(err) });
        say(`${kind} step on ${device}: failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
const jobs: Record<string, unknown>[] = [];
if (hasGpu && loaded.length) {
  const data = await subsetFolder();
  for (const device of ['cpu', ...loaded]) {
    if (elapsed() > budgetS * 0.75) {
      jobs.push({ device, skipped: 'out of the time budget' });
      continue;
    }
    const j = kdJob(device, data);
    jobs.push({ device, ...j });
    say(
      `KD job on ${device}: ${j.error ? `failed: ${j.error}` : `${j.wallS.toFixed(1)} s, val acc ${((j.valAcc ?? 0) * 100).toFixed(2)}%`}`,
    );
  }
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: threads, loadavg: load, gpus },
  versions: { nodejs: process.version, ...engineVersions() },
  providers,
  batch,
  tolerance: TOLERANCE,
  checks,
  kdJob: jobs,
  seconds: elapsed(),
  note: hasGpu ? 'step times: median of 30 after 5 warm-up, same process, CPU first' : 'no GPU: nothing timed',
};
mkdirSync(outDir, { recursive: true });
writeFileAtomic(join(outDir, 'device-check.json'), JSON.stringify(result, null, 2));
say(`wrote ${join(outDir, 'device-check.json')} (${elapsed().toFixed(0)} s)`);

if (!process.argv.includes('--no-markdown')) {
  const lines = [
    '## Device check (`npm run device-check`)',
    '',
    `Taken ${result.date.slice(0, 16)} UTC: ${result.machine.cpu}, ${threads} cores (load ${load}), ${hasGpu ? gpus.map((g) => `${g.name}, driver ${g.driver}`).join('; ') : 'no GPU'}; Node ${process.version}, onnxruntime-node ${result.versions.node}.`,
    '',
    `Command: \`${process.env.VK_ICD_FILENAMES ? `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES} ` : ''}${process.env.LD_LIBRARY_PATH ? `LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH} ` : ''}npm run device-check\`${swiftshader ? ' (WebGPU on the SwiftShader Vulkan driver: a CPU, so nothing about GPU speed)' : ''}.`,
    '',
    `Providers: ${providers.map((p) => `${p.device} ${p.loads ? 'loads' : `does not load (${(p.reason ?? '').replace(/^.*was false\.\s*/, '').slice(0, 160)})`}`).join('; ')}.`,
    '',
    ...(checks.length
      ? [
          '| step | device | batch | equal to CPU (tol. ' + TOLERANCE + ') | step ms (device / CPU) | speed-up |',
          '|---|---|---|---|---|---|',
          ...checks.map(
            (c) =>
              `| ${c.kind} | ${c.device} | ${c.batch ?? '-'} | ${c.error ? `failed: ${String(c.error).slice(0, 80)}` : c.skipped ? String(c.skipped) : `${c.equal ? 'yes' : 'NO'} (${(c.worstRelative as number).toExponential(1)})`} | ${c.stepS ? `${((c.stepS as number) * 1000).toFixed(1)} / ${((c.cpuStepS as number) * 1000).toFixed(1)}` : '-'} | ${c.speedup ? `${(c.speedup as number).toFixed(2)}x` : '-'} |`,
          ),
          '',
        ]
      : ['No non-CPU provider loaded: nothing to compare.', '']),
    ...(jobs.length
      ? [
          'KD job (`distill --student zoo:cnn --method kd --epochs 1`, 2,048 training images, batch 128):',
          '',
          ...jobs.map(
            (j) =>
              `- ${j.device}: ${j.error ? `failed (${j.error})` : j.skipped ? String(j.skipped) : `${(j.wallS as number).toFixed(1)} s wall, val acc ${(((j.valAcc as number) ?? 0) * 100).toFixed(2)}%`}`,
          ),
          '',
        ]
      : []),
    hasGpu
      ? 'Step times are the median of 30 steps after 5 warm-up, CPU and device in the same run.'
      : 'No GPU was at hand: nothing was timed. Run `npm run device-check` on a machine with an NVIDIA GPU.',
  ];
  const path = join(root, 'BENCHMARKS.md');
  writeFileAtomic(path, replaceSection(readFileSync(path, 'utf8'), 'device-check', lines.join('\n')));
  say(`updated the device-check section of ${path}`);
}
