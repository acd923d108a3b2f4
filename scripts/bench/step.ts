// One training-step measurement in its own process (so peak RSS is its own): prints a JSON line.
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const model = arg('model', 'resnet8');
const [c, h, w] = arg('input', '1x28x28').split('x').map(Number) as [number, number, number];
const batch = Number(arg('batch', '128'));
const steps = Number(arg('steps', '30'));
const threads = Number(arg('threads', '2'));
const classes = 10;

const m = resolveModelSpec(`zoo:${model}`, { input: [c, h, w], classes, seed: 0 });
const step = compileTrainStep({
  model: m,
  batch,
  terms: [{ term: 'ce' }],
  optimizer: 'sgd',
  hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
});
const rt = new Runtime({ threads });
const s = await rt.session(step.bytes);
const init = initialState(step);
await rt.setState(init);
const x = Float32Array.from({ length: batch * c * h * w }, () => Math.random() * 2 - 1);
const labels = new Float32Array(batch * classes);
for (let i = 0; i < batch; i++) labels[i * classes + (i % classes)] = 1;
const feeds = (): Record<string, TensorData> => ({
  [step.inputName]: { type: 'float32', dims: [batch, c, h, w], data: x.slice() },
  labels: { type: 'float32', dims: [batch, classes], data: labels.slice() },
  lr: { type: 'float32', dims: [], data: Float32Array.of(0.05) },
  w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
});
const times: number[] = [];
for (let i = 0; i < steps + 5; i++) {
  const t = performance.now();
  await s.run(feeds(), ['loss'], step.carry);
  if (i >= 5) times.push((performance.now() - t) / 1000);
}
await rt.close();
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)]!;
console.log(
  JSON.stringify({
    img_per_s: batch / med,
    median_step_s: med,
    spread_s: [times[0], times[times.length - 1]],
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
