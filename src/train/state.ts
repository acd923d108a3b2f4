import type { CompiledStep } from '../compiler/step.js';
import type { TensorData } from '../runtime/tensor.js';

// A step's starting state: the compiled weights and running statistics (copied), optimizer slots at zero.
export function initialState(step: CompiledStep): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const e of [...step.params, ...step.buffers]) {
    const t = step.initial[e.name]!;
    out[e.name] = { type: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) };
  }
  for (const s of step.slots)
    out[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
  return out;
}
