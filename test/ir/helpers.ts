import type { Model } from '../../src/ir/model.js';
import type { TensorData } from '../../src/runtime/tensor.js';

// Shared by the IR tests: seeded random feeds for a model's inputs, and exact output comparison.

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

// Deterministic uniform(-1, 1) floats (mulberry32), so failures repeat.
export function randomFloats(n: number, seed = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

// Random float32 feeds for every graph input, dynamic dims set to `batch`.
export function randomFeeds(model: Model, batch = 1, seed = 1): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  model.graph.inputs.forEach((v, i) => {
    const dims = (v.type?.shape ?? []).map((d) => (typeof d === 'number' ? d : batch));
    feeds[v.name] = {
      type: 'float32',
      dims,
      data: randomFloats(
        dims.reduce((a, b) => a * b, 1),
        seed + i,
      ),
    };
  });
  return feeds;
}

// Byte-exact equality of two run results (NaN-safe), with the first differing output named.
export function sameOutputs(a: Record<string, TensorData>, b: Record<string, TensorData>): string | undefined {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join() !== kb.join()) return `outputs differ: ${ka.join()} vs ${kb.join()}`;
  for (const k of ka) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.type !== y.type || x.dims.join() !== y.dims.join())
      return `${k}: ${x.type}${JSON.stringify(x.dims)} vs ${y.type}${JSON.stringify(y.dims)}`;
    if (Array.isArray(x.data) || Array.isArray(y.data)) {
      if (JSON.stringify(x.data) !== JSON.stringify(y.data)) return `${k}: values differ`;
      continue;
    }
    const bx = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const by = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    if (Buffer.compare(bx, by) !== 0) return `${k}: values differ`;
  }
  return undefined;
}
