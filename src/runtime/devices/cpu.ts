import { lowerModelToNchwc, nchwcBlockSize } from '../lower/nchwc.js';
import type { Device } from './types.js';

// The CPU provider: always available, the reference for exact repeatability. Convs with graph-input weights (a training
// step's) are lowered to onnxruntime's blocked NCHWc Conv; ONNX_DISTILL_CPU_LOWERING=off keeps the portable graph.
export const device: Device = {
  name: 'cpu',
  priority: 30,
  description: 'onnxruntime CPU execution provider (always available; runs repeat exactly for a seed)',
  providers: () => ['cpu'],
  async lower(bytes) {
    // A big file is big because of constant weights, whose Convs onnxruntime blocks itself: skip parsing it.
    if (process.env.ONNX_DISTILL_CPU_LOWERING === 'off' || bytes.byteLength > 32 * 2 ** 20) return bytes;
    const block = await nchwcBlockSize();
    return block ? lowerModelToNchwc(bytes, block).bytes : bytes;
  },
};
