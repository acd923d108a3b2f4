import type { Device } from './types.js';

// WebGPU through Dawn, bundled in onnxruntime-node on Linux, Windows and macOS.
export const device: Device = {
  name: 'webgpu',
  priority: 20,
  description: 'onnxruntime WebGPU execution provider (bundled; needs a Vulkan/Metal/D3D12 capable GPU and driver)',
  providers: () => ['webgpu'],
};
