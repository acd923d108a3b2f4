import type { Device } from './types.js';

// The CPU provider: always available, the reference for exact repeatability.
export const device: Device = {
  name: 'cpu',
  priority: 30,
  description: 'onnxruntime CPU execution provider (always available; runs repeat exactly for a seed)',
  providers: () => ['cpu'],
};
