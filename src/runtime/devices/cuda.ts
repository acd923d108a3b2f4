import type { Device } from './types.js';

// NVIDIA GPUs; needs onnxruntime-node's CUDA binaries (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, CUDA 12 + cuDNN 9).
export const device: Device = {
  name: 'cuda',
  priority: 10,
  description:
    'onnxruntime CUDA execution provider (install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci; needs CUDA 12 and cuDNN 9)',
  providers: ({ deviceId }) => [{ name: 'cuda', deviceId: deviceId ?? 0 }],
  hint: (message) =>
    /load shared library|libonnxruntime_providers/i.test(message)
      ? ' (the CUDA build of onnxruntime-node is not installed: ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, with CUDA 12 and cuDNN 9)'
      : undefined,
};
