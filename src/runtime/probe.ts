import * as ort from 'onnxruntime-node';
import { messageOf } from '../util/errors.js';

// Whether onnxruntime's loader accepts a model, and its reason when not: what `inspect` reports next to our own checks.
export type LoadVerdict = { loads: true } | { loads: false; reason: string };

// Create (and release) a CPU session for a file path (external data resolved by onnxruntime) or model bytes.
export async function probeLoad(model: string | Uint8Array): Promise<LoadVerdict> {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'], graphOptimizationLevel: 'basic', intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4,
  };
  try {
    const s = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
    await s.release();
    return { loads: true };
  } catch (err: unknown) {
    return { loads: false, reason: tidy(messageOf(err)) };
  }
}

// onnxruntime's messages carry a status prefix and source paths; keep the sentence a user can act on.
function tidy(msg: string): string {
  const line = msg.split('\n').find((l) => l.trim()) ?? msg;
  return line.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '').replace(/\/onnxruntime_src\/\S+:\d+\s+/g, '').trim().slice(0, 500);
}
