import type { InferenceSession } from 'onnxruntime-node';

// One execution device: a name users type and the onnxruntime provider options behind it.
export interface Device {
  name: string;
  // Lower tries first when the user asks for `auto`.
  priority: number;
  description: string;
  providers(opts: { deviceId?: number }): InferenceSession.ExecutionProviderConfig[];
  // A device-specific rewrite of a model before its session is created (same results, faster kernels); the portable
  // standard-op graph is what every other device runs.
  lower?(bytes: Uint8Array): Promise<Uint8Array>;
  // A sentence to add to a failure to start this device (what to install or set), or undefined.
  hint?(message: string): string | undefined;
}
