// Interleaved A/B timing of two compiled training steps in one process, for judging a step-graph change on a shared
// machine: the two sessions alternate (order flipped each round), so load drifts hit both alike. Prints one JSON line.
//   --save FILE     compile the step with this checkout's compiler and write its bytes (the baseline), then exit
//   --against FILE  compile it here and time it against FILE, which must have the same inputs and outputs
//   --nchwc         time the compiled step after the CPU NCHWc lowering
//   --b-options JSON  time this checkout's step against itself, B with these session options on top (e.g.
//                   '{"enableMemPattern":false}'); --against is then not needed
// usage: node --import tsx scripts/bench/ab.ts --model resnet8 --input 1x28x28 --against /tmp/base.onnx --rounds 40
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { lowerModelToNchwc, nchwcBlockSize } from '../../src/runtime/lower/nchwc.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const [c, h, w] = arg('input', '1x28x28').split('x').map(Number) as [number, number, number];
const batch = Number(arg('batch', '128'));
const threads = Number(arg('threads', '2'));
const rounds = Number(arg('rounds', '30'));
const model = resolveModelSpec(`zoo:${arg('model', 'resnet8')}`, { input: [c, h, w], classes: 10, seed: 0 });
const step = compileTrainStep({
  model,
  batch,
  terms: [{ term: 'ce' }],
  optimizer: 'sgd',
  hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
});
if (process.argv.includes('--save')) {
  writeFileSync(arg('save', ''), step.bytes);
  process.exit(0);
}
const opts: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
};
// --nchwc: B is this checkout's step with the CPU lowering applied (as Runtime.session does on the CPU).
const bytes = process.argv.includes('--nchwc')
  ? lowerModelToNchwc(step.bytes, await nchwcBlockSize()).bytes
  : step.bytes;
const bOptions = process.argv.includes('--b-options')
  ? (JSON.parse(arg('b-options', '{}')) as ort.InferenceSession.SessionOptions)
  : undefined;
const b = await ort.InferenceSession.create(bytes, { ...opts, ...bOptions });
const a = await ort.InferenceSession.create(bOptions ? bytes : readFileSync(arg('against', '')), opts);
const feeds: Record<string, ort.Tensor> = {};
// A momentum buffer of 0.01 everywhere, so the optimizer path is exercised with non-zero state.
for (const [k, t] of Object.entries(initialState(step)))
  feeds[k] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
for (const sl of step.slots)
  feeds[sl.name] = new ort.Tensor(
    'float32',
    new Float32Array(sl.shape.reduce((p, q) => p * q, 1)).fill(0.01),
    sl.shape,
  );
feeds[step.inputName] = new ort.Tensor(
  'float32',
  Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i * 0.37)),
  [batch, c, h, w],
);
const labels = new Float32Array(batch * 10);
for (let i = 0; i < batch; i++) labels[i * 10 + (i % 10)] = 1;
feeds.labels = new ort.Tensor('float32', labels, [batch, 10]);
feeds.lr = new ort.Tensor('float32', Float32Array.of(0.05), []);
feeds.w_ce = new ort.Tensor('float32', Float32Array.of(1), []);
const fetch = ['loss', ...Object.keys(step.carry)];
// Same step, same inputs: the two graphs must agree on the loss and every carried output.
const ra = await a.run(feeds, fetch);
const rb = await b.run(feeds, fetch);
let maxDiff = 0,
  maxRel = 0,
  worst = '';
for (const k of fetch) {
  const x = ra[k]!.data as Float32Array,
    y = rb[k]!.data as Float32Array;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (d > maxDiff) {
      maxDiff = d;
      worst = k;
    }
    maxRel = Math.max(maxRel, d / (Math.abs(x[i]!) + 1e-3));
  }
}
for (let i = 0; i < 3; i++) {
  await a.run(feeds, fetch);
  await b.run(feeds, fetch);
}
// Wall time, and the process's CPU time: at --threads 1 onnxruntime runs on the calling thread, so CPU time is the
// step's own work and barely moves when other processes compete for the cores (wall time does).
const ta: number[] = [],
  tb: number[] = [],
  ca: number[] = [],
  cb: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const [s, t, cpu] of (r % 2
    ? [
        [b, tb, cb],
        [a, ta, ca],
      ]
    : [
        [a, ta, ca],
        [b, tb, cb],
      ]) as [ort.InferenceSession, number[], number[]][]) {
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    await s.run(feeds, fetch);
    const dc = process.cpuUsage(c0);
    t.push(performance.now() - t0);
    cpu.push((dc.user + dc.system) / 1000);
  }
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
// The per-round ratio's median is robust to a round where the machine stalled.
const ratio = (x: number[], y: number[]) => +med(x.map((v, i) => y[i]! / v)).toFixed(3);
console.log(
  JSON.stringify({
    model: arg('model', 'resnet8'),
    input: arg('input', '1x28x28'),
    rounds,
    a_ms: +med(ta).toFixed(2),
    b_ms: +med(tb).toFixed(2),
    b_over_a: ratio(ta, tb),
    a_cpu_ms: +med(ca).toFixed(2),
    b_cpu_ms: +med(cb).toFixed(2),
    cpu_b_over_a: ratio(ca, cb),
    max_abs_diff: maxDiff,
    max_rel_diff: +maxRel.toExponential(2),
    worst,
  }),
);
