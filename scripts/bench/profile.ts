// Where a training step's time goes (onnxruntime's own profiler), per op type and per part of the step (conv forward,
// conv weight gradient, BatchNorm backward, ...), on the graph the CPU runs (after the CPU lowering, as
// Runtime.session does). The first run is warm-up and not counted. Prints one JSON line.
// usage: node --import tsx scripts/bench/profile.ts --model resnet8 --input 1x28x28 --batch 128 --threads 2 [--runs 3]
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { device as cpu } from '../../src/runtime/devices/cpu.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const [c, h, w] = arg('input', '1x28x28').split('x').map(Number) as [number, number, number];
const batch = Number(arg('batch', '128'));
const runs = Number(arg('runs', '3'));
const model = resolveModelSpec(`zoo:${arg('model', 'resnet8')}`, { input: [c, h, w], classes: 10, seed: 0 });
const step = compileTrainStep({
  model,
  batch,
  terms: [{ term: 'ce' }],
  optimizer: 'sgd',
  hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
});
const prefix = join(tmpdir(), `od-profile-${process.pid}`);
const bytes = await cpu.lower!(step.bytes);
const s = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: Number(arg('threads', '2')),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableProfiling: true,
  profileFilePrefix: prefix,
});
const feeds: Record<string, ort.Tensor> = {};
for (const [k, t] of Object.entries(initialState(step)))
  feeds[k] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
for (const sl of step.slots)
  feeds[sl.name] = new ort.Tensor('float32', new Float32Array(sl.shape.reduce((a, b) => a * b, 1)), sl.shape);
feeds[step.inputName] = new ort.Tensor(
  'float32',
  Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i)),
  [batch, c, h, w],
);
const labels = new Float32Array(batch * 10);
for (let i = 0; i < batch; i++) labels[i * 10 + (i % 10)] = 1;
feeds.labels = new ort.Tensor('float32', labels, [batch, 10]);
feeds.lr = new ort.Tensor('float32', Float32Array.of(0.05), []);
feeds.w_ce = new ort.Tensor('float32', Float32Array.of(1), []);
for (let i = 0; i < runs + 1; i++) await s.run(feeds);
await s.release();
const dir = tmpdir();
const file = join(
  dir,
  readdirSync(dir)
    .filter((f) => f.startsWith(`od-profile-${process.pid}`))
    .sort()
    .pop()!,
);
const events = JSON.parse(readFileSync(file, 'utf8')) as {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args: { op_name?: string };
}[];
rmSync(file);

// The part of the step a kernel belongs to, from its node name (the compiler scopes nodes: `model/...` forward,
// `grad/...` backward, `train/<param>/...` the optimizer update, `train/<term>` the loss) and its op type.
function partOf(node: string, op: string): string {
  const bwd = node.startsWith('grad/');
  if (node.startsWith('train/')) return /\.(weight|bias)\//.test(node) ? 'optimizer update' : 'loss';
  if (bwd && node.startsWith('grad/train/')) return 'loss backward';
  if (op === 'Relu' || op === 'Where' || op === 'Greater') return bwd ? 'ReLU backward' : 'ReLU forward';
  if (['MaxPool', 'GlobalAveragePool', 'AveragePool', 'Expand'].includes(op) || (bwd && /Pool/.test(node)))
    return bwd ? 'pooling backward' : 'pooling forward';
  if (/\/fc\b|model\/fc$/.test(node)) return bwd ? 'classifier backward' : 'classifier forward';
  if (bwd && op === 'Sum') return 'gradient sums at forks';
  if (bwd && ['Gemm', 'Slice', 'Pad', 'Concat'].includes(op)) return 'conv weight gradient';
  if (bwd && op === 'Transpose' && !node.includes('/nchwc/')) return 'conv weight gradient';
  if (['Conv', 'ConvTranspose', 'ReorderInput', 'ReorderOutput'].includes(op) || node.includes('/nchwc/'))
    return bwd ? 'conv input gradient' : 'conv forward';
  if (
    /bn|downsample\.1|norm/i.test(node) ||
    ['BatchNormalization', 'ReduceMean', 'ReduceSumSquare', 'Sqrt', 'Reciprocal'].includes(op)
  )
    return bwd ? 'BatchNorm backward' : 'BatchNorm forward';
  if (op === 'Add' && !bwd) return 'residual adds';
  return `other (${op})`;
}
// Kernel events of the timed runs only: after the end of the first (warm-up) run.
const firstRunEnd =
  events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .map((e) => e.ts + e.dur)
    .sort((a, b) => a - b)[0] ?? 0;
const byOp = new Map<string, number>();
const byPart = new Map<string, { us: number; ops: Map<string, number> }>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < firstRunEnd) continue;
  const op = e.args.op_name!;
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const part = partOf(e.name.slice(0, -'_kernel_time'.length), op);
  const p = byPart.get(part) ?? { us: 0, ops: new Map<string, number>() };
  p.us += e.dur;
  p.ops.set(op, (p.ops.get(op) ?? 0) + e.dur);
  byPart.set(part, p);
  total += e.dur;
}
const ops = [...byOp]
  .sort((a, b) => b[1] - a[1])
  .map(([op, us]) => ({ op, ms_per_step: us / runs / 1000, share: us / total }));
const parts = [...byPart]
  .sort((a, b) => b[1].us - a[1].us)
  .map(([part, p]) => ({
    part,
    ms_per_step: p.us / runs / 1000,
    share: p.us / total,
    ops: [...p.ops].sort((a, b) => b[1] - a[1]).map(([op, us]) => ({ op, share: us / total })),
  }));
console.log(
  JSON.stringify({
    model: arg('model', 'resnet8'),
    input: arg('input', '1x28x28'),
    batch,
    runs,
    kernel_ms_per_step: total / runs / 1000,
    ops,
    parts,
  }),
);
