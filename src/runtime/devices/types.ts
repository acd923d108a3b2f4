import type { InferenceSession } from 'onnxruntime-node';

// One execution device: a name users type and the onnxruntime provider options behind it.
export interface Device {
  name: string;
  // Lower tries first when the user asks for `auto`.
  priority: number;
  description: string;
  providers(opts: { deviceId?: number }): InferenceSession.ExecutionProviderConfig[];
}
