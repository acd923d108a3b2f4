// Which compiled graphs onnxruntime-node's WebGPU provider runs (issue 19): one CE step of the smallest model of each
// zoo family, and one step of each one-stage method on a cnn-tiny student of the shipped teacher, each against the CPU
// from the same state and batch. Slow on SwiftShader (minutes); not a test. Prints one line per graph.
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium \
//     node --import tsx scripts/webgpu-sweep.ts [--only resnet8,kd]
import { join } from 'node:path';
import { compileStep, type CompiledStep } from '../src/compiler/step.js';
import type { NetworkSpec } from '../src/compiler/network.js';
import { loadModel } from '../src/ir/model.js';
import { METHODS, mixTerms } from '../src/methods/index.js';
import { stageTaps } from '../src/pipeline/taps.js';
import { Runtime } from '../src/runtime/session.js';
import type { TensorData } from '../src/runtime/tensor.js';
import { initialState } from '../src/train/state.js';
import { resolveModelSpec } from '../src/zoo/index.js';

const root = new URL('..', import.meta.url).pathname;
const only = (process.argv[process.argv.indexOf('--only') + 1] ?? '')
  .split(',')
  .filter((s) => process.argv.includes('--only') && s);
const hyper = { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const batch = 4;

function feeds(step: CompiledStep): Record<string, TensorData> {
  const [, c, h, w] = step.inputShape as [number, number, number, number];
  const labels = new Float32Array(batch * step.classes);
  for (let i = 0; i < batch; i++) labels[i * step.classes + ((i * 3) % step.classes)] = 1;
  const f: Record<string, TensorData> = {
    [step.inputName]: {
      type: 'float32',
      dims: [batch, c, h, w],
      data: Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i * 0.37)),
    },
    labels: { type: 'float32', dims: [batch, step.classes], data: labels },
    lr: { type: 'float32', dims: [], data: Float32Array.of(0.05) },
  };
  for (const t of step.terms) f[`w_${t.name}`] = { type: 'float32', dims: [], data: Float32Array.of(0.5) };
  return f;
}

async function once(device: string, step: CompiledStep): Promise<Record<string, TensorData>> {
  const rt = new Runtime({ device, threads: 2 });
  try {
    await rt.setState(initialState(step));
    const s = await rt.session(step.bytes, 'step', { portable: device === 'cpu' });
    return await s.run(feeds(step), ['loss', ...Object.keys(step.carry)], {});
  } finally {
    await rt.close();
  }
}

// The three worst tensors: max |Δ| relative to the tensor's scale, at least 1e-3 (a zero-initialised conv bias before
// BatchNorm, or a BatchNorm shift before a linear conv and another BatchNorm, has a zero gradient up to rounding).
function worst(a: Record<string, TensorData>, b: Record<string, TensorData>): string {
  const rows: [number, string][] = [];
  for (const [k, t] of Object.entries(a)) {
    const x = t.data as Float32Array,
      y = b[k]!.data as Float32Array;
    let s = 0,
      d = 0;
    for (let i = 0; i < x.length; i++) {
      s = Math.max(s, Math.abs(x[i]!));
      d = Math.max(d, Math.abs(x[i]! - y[i]!));
    }
    rows.push([
      Number.isNaN(d) ? Infinity : d / Math.max(s, 1e-3),
      `${k} |Δ| ${d.toExponential(1)} of ${s.toExponential(1)}`,
    ]);
  }
  rows.sort((p, q) => q[0] - p[0]);
  return rows
    .slice(0, 3)
    .map(([r, t]) => `${r.toExponential(2)} (${t})`)
    .join('; ');
}

const cases: [string, () => CompiledStep][] = [];
for (const name of ['cnn-tiny', 'resnet8', 'wrn-16-1', 'vgg8', 'mobile-half', 'shufflev1', 'shufflev2-0.5']) {
  cases.push([
    name,
    () =>
      compileStep({
        networks: [
          {
            name: 'model',
            model: resolveModelSpec(`zoo:${name}`, { input: [3, 32, 32], classes: 10, seed: 1 }),
            role: 'student',
            trainable: true,
          },
        ],
        terms: [{ term: 'ce', name: 'ce', taps: { logits: 'model.logits' } }],
        batch,
        optimizer: 'sgd',
        hyper,
      }),
  ]);
}
const teacher = loadModel(join(root, 'models/fashion-mnist-teacher/model.onnx'));
for (const method of ['kd', 'fitnet', 'at', 'sp', 'pkt', 'dkd', 'sokd', 'dml', 'kdml']) {
  cases.push([
    method,
    () => {
      const m = METHODS.get(method)!;
      const k = m.minStudents;
      const names = k > 1 ? Array.from({ length: k }, (_, i) => `student${i + 1}`) : ['student'];
      const networks: NetworkSpec[] = [
        ...(m.teacher === 'none'
          ? []
          : [{ name: 'teacher', model: teacher, role: 'teacher' as const, trainable: m.teacher === 'trainable' }]),
        ...names.map((n, i) => ({
          name: n,
          model: resolveModelSpec('zoo:cnn-tiny', { input: [1, 28, 28], classes: 10, seed: i }),
          role: 'student' as const,
          trainable: true,
        })),
      ];
      if (m.networks) networks.push(...m.networks({ teacher, teacherName: 'teacher', seed: 1 }).networks);
      const terms = mixTerms([m], {
        teacher: m.teacher === 'none' ? undefined : 'teacher',
        students: names,
        stages: stageTaps(networks),
      });
      return compileStep({
        networks,
        terms: terms.map((t) => ({
          term: t.term,
          name: t.name,
          taps: t.taps,
          ...(t.options ? { options: t.options } : {}),
        })),
        batch,
        optimizer: 'sgd',
        hyper,
      });
    },
  ]);
}
for (const [name, make] of cases) {
  if (only.length && !only.includes(name)) continue;
  const t0 = performance.now();
  try {
    const step = make();
    const cpu = await once('cpu', step);
    const gpu = await once('webgpu', step);
    console.log(`${name.padEnd(14)} ok   worst ${worst(cpu, gpu)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } catch (err: unknown) {
    console.log(
      `${name.padEnd(14)} FAIL ${(err instanceof Error ? err.message : String(err)).split('\n').slice(0, 3).join(' | ').slice(0, 400)}`,
    );
  }
}
