// Where a training step's time goes, per op type (onnxruntime's own profiler): prints one JSON line.
// usage: node --import tsx scripts/bench/profile.ts --model resnet8 --input 1x28x28 --batch 128 --threads 2
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';

const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1]! : d; };
const [c, h, w] = arg('input', '1x28x28').split('x').map(Number) as [number, number, number];
const batch = Number(arg('batch', '128'));
const model = resolveModelSpec(`zoo:${arg('model', 'resnet8')}`, { input: [c, h, w], classes: 10, seed: 0 });
const step = compileTrainStep({ model, batch, terms: [{ term: 'ce' }], optimizer: 'sgd', hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 } });
const prefix = join(tmpdir(), `od-profile-${process.pid}`);
const s = await ort.InferenceSession.create(step.bytes, { intraOpNumThreads: Number(arg('threads', '2')), enableProfiling: true, profileFilePrefix: prefix });
const feeds: Record<string, ort.Tensor> = {};
for (const [k, t] of Object.entries(initialState(step))) feeds[k] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
for (const sl of step.slots) feeds[sl.name] = new ort.Tensor('float32', new Float32Array(sl.shape.reduce((a, b) => a * b, 1)), sl.shape);
feeds[step.inputName] = new ort.Tensor('float32', Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i)), [batch, c, h, w]);
const labels = new Float32Array(batch * 10);
for (let i = 0; i < batch; i++) labels[i * 10 + (i % 10)] = 1;
feeds.labels = new ort.Tensor('float32', labels, [batch, 10]);
feeds.lr = new ort.Tensor('float32', Float32Array.of(0.05), []);
feeds.w_ce = new ort.Tensor('float32', Float32Array.of(1), []);
const runs = 6;
for (let i = 0; i < runs; i++) await s.run(feeds);
await s.release();
const dir = tmpdir();
const file = join(dir, readdirSync(dir).filter((f) => f.startsWith(`od-profile-${process.pid}`)).sort().pop()!);
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args: { op_name?: string } }[];
rmSync(file);
const byOp = new Map<string, number>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  byOp.set(e.args.op_name!, (byOp.get(e.args.op_name!) ?? 0) + e.dur);
  total += e.dur;
}
const ops = [...byOp].sort((a, b) => b[1] - a[1]).map(([op, us]) => ({ op, ms_per_step: us / runs / 1000, share: us / total }));
console.log(JSON.stringify({ model: arg('model', 'resnet8'), input: arg('input', '1x28x28'), batch, kernel_ms_per_step: total / runs / 1000, ops }));
