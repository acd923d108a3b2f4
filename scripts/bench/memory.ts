// One 224-px KD training step in its own process (peak RSS is its own): a student ONNX (a PyTorch training-mode
// export) learns from a frozen teacher ONNX inside the step, loss 0.1·CE + 0.9·KD(τ 4), SGD momentum 0.9, weight decay
// 5e-4, as scripts/bench/torch_memory.py does in PyTorch. Prints one JSON line: peak RSS and where it was reached
// (after compiling, after creating the session, after the first step), the compiled graph's and the state's bytes,
// the median step time and img/s.
//   node --import tsx scripts/bench/memory.ts --student s.onnx --teacher t.onnx --batch 32 --steps 3 --threads 2
// ONNX_DISTILL_ARENA=off turns off onnxruntime's CPU memory arena (see src/runtime/worker.ts); --release drops the
// compiler's objects before the first step (run node with --expose-gc).
import { compileStep } from '../../src/compiler/step.js';
import { loadModel } from '../../src/ir/model.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { initialState } from '../../src/train/state.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const batch = Number(arg('batch', '32'));
const size = Number(arg('size', '224'));
const steps = Number(arg('steps', '3'));
const threads = Number(arg('threads', '2'));
const rss = () => process.resourceUsage().maxRSS / 1024;

let step = compileStep({
  networks: [
    { name: 'teacher', model: loadModel(arg('teacher', '')), role: 'teacher', trainable: false },
    { name: 'student', model: loadModel(arg('student', '')), role: 'student', trainable: true },
  ],
  terms: [
    { term: 'ce', name: 'ce', taps: { logits: 'student.logits' } },
    { term: 'kd', name: 'kd', taps: { student: 'student.logits', teacher: 'teacher.logits' }, options: { tau: 4 } },
  ],
  batch,
  optimizer: 'sgd',
  hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
});
const afterCompile = rss();
const stepMb = step.bytes.byteLength / 2 ** 20;
const stateBytes = [...step.params, ...step.buffers, ...step.slots].reduce(
  (a, e) => a + 4 * e.shape.reduce((x, y) => x * y, 1),
  0,
);
const rt = new Runtime({ threads });
const s = await rt.session(step.bytes);
await rt.setState(initialState(step));
const { inputName, classes, carry } = step;
// --release (with node --expose-gc): drop the compiler's objects once the session holds the step, as a loop could.
if (process.argv.includes('--release')) {
  step = undefined as never;
  (globalThis as { gc?: () => void }).gc?.();
}
const afterSession = rss();
const x = Float32Array.from({ length: batch * 3 * size * size }, (_, i) => Math.sin(i * 0.001));
const labels = new Float32Array(batch * classes);
for (let i = 0; i < batch; i++) labels[i * classes + (i % classes)] = 1;
const feeds = (): Record<string, TensorData> => ({
  [inputName]: { type: 'float32', dims: [batch, 3, size, size], data: x },
  labels: { type: 'float32', dims: [batch, classes], data: labels },
  lr: { type: 'float32', dims: [], data: Float32Array.of(0.01) },
  w_ce: { type: 'float32', dims: [], data: Float32Array.of(0.1) },
  w_kd: { type: 'float32', dims: [], data: Float32Array.of(0.9) },
});
const times: number[] = [];
let afterFirst = 0;
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  await s.run(feeds(), ['loss'], carry);
  times.push((performance.now() - t) / 1000);
  if (i === 0) afterFirst = rss();
}
await rt.close();
const timed = times.length > 1 ? times.slice(1) : times;
timed.sort((a, b) => a - b);
const med = timed[Math.floor(timed.length / 2)]!;
console.log(
  JSON.stringify({
    peak_rss_mb: rss(),
    rss_after_compile_mb: afterCompile,
    rss_after_session_mb: afterSession,
    rss_after_first_step_mb: afterFirst,
    step_onnx_mb: stepMb,
    state_mb: stateBytes / 2 ** 20,
    median_step_s: med,
    img_per_s: batch / med,
    arena: process.env.ONNX_DISTILL_ARENA !== 'off',
    threads,
  }),
);
