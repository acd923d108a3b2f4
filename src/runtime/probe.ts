import * as ort from 'onnxruntime-node';
import { Builder } from '../ir/builder.js';
import { Graph } from '../ir/graph.js';
import { Model, serializeModel } from '../ir/model.js';
import { messageOf } from '../util/errors.js';
import { resolveDevices } from './devices/index.js';

// Whether onnxruntime's loader accepts a model, and its reason when not: what `inspect` reports next to our own checks.
export type LoadVerdict = { loads: true } | { loads: false; reason: string };

// Create (and release) a CPU session for a file path (external data resolved by onnxruntime) or model bytes.
export async function probeLoad(model: string | Uint8Array): Promise<LoadVerdict> {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'basic',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 4,
  };
  try {
    const s =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, opts)
        : await ort.InferenceSession.create(model, opts);
    await s.release();
    return { loads: true };
  } catch (err: unknown) {
    return { loads: false, reason: tidy(messageOf(err)) };
  }
}

// onnxruntime's messages carry a status prefix and source paths; keep the sentence a user can act on.
function tidy(msg: string): string {
  const line = msg.split('\n').find((l) => l.trim()) ?? msg;
  return line
    .replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '')
    .replace(/\/onnxruntime_src\/\S+:\d+\s+/g, '')
    .trim()
    .slice(0, 500);
}

// Whether a device's execution provider comes up here and runs a one-node graph (x + x) on it, with its reason when
// not: what the device check and the WebGPU tests report before they train anything.
export async function probeDevice(name: string): Promise<LoadVerdict & { device: string; ms?: number }> {
  const d = resolveDevices(name)[0]!;
  const g = new Graph('device_probe');
  const x = g.value('x', { dtype: 'float32', shape: [2, 3] });
  g.inputs.push(x);
  g.outputs = [new Builder(g).add(x, x)];
  const t0 = performance.now();
  try {
    const s = await ort.InferenceSession.create(serializeModel(new Model(g, new Map([['', 17]]))).onnx, {
      executionProviders: d.providers({}),
      logSeverityLevel: 4,
    });
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
    const y = r[s.outputNames[0]!]!.data as Float32Array;
    await s.release();
    if (y[5] !== 12) return { device: d.name, loads: false, reason: `x + x gave ${Array.from(y).join(', ')}` };
    return { device: d.name, loads: true, ms: performance.now() - t0 };
  } catch (err: unknown) {
    return { device: d.name, loads: false, reason: tidy(messageOf(err)) + (d.hint?.(messageOf(err)) ?? '') };
  }
}
