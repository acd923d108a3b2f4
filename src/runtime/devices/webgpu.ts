import { parseModel, serializeModel } from '../../ir/model.js';
import { inferShapes } from '../../ir/passes/shapes.js';
import { lowerMaxPoolIndices } from '../lower/maxpoolMask.js';
import type { Device } from './types.js';

// The SwiftShader Vulkan driver (Vulkan on the CPU) that Debian's chromium package ships: a WebGPU adapter without a GPU.
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// WebGPU through Dawn, bundled in onnxruntime-node on Linux, Windows and macOS. Without a GPU it runs on SwiftShader:
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (and LD_LIBRARY_PATH=/usr/lib/chromium where no
// libvulkan1 is installed). Its MaxPool has no Indices output, so a step's MaxPool gradients are lowered to
// first-maximum masks (lower/maxpoolMask.ts).
export const device: Device = {
  name: 'webgpu',
  priority: 20,
  description:
    'onnxruntime WebGPU execution provider (bundled; needs a Vulkan/Metal/D3D12 capable GPU and driver, or SwiftShader)',
  providers: () => ['webgpu'],
  async lower(bytes) {
    const m = parseModel(bytes);
    if (!m.graph.nodes.some((n) => n.opType === 'MaxPool' && n.outputs.length > 1)) return bytes;
    inferShapes(m.graph);
    return lowerMaxPoolIndices(m.graph) ? serializeModel(m).onnx : bytes;
  },
  hint: (message) =>
    /adapter/i.test(message)
      ? ` (no WebGPU adapter: without a GPU driver, SwiftShader gives one: VK_ICD_FILENAMES=${SWIFTSHADER_ICD} LD_LIBRARY_PATH=/usr/lib/chromium, from Debian's chromium package)`
      : undefined,
};
