import { UserError } from '../../util/errors.js';
import { importFolder } from '../../util/registry.js';
import type { Device } from './types.js';

// Every device file in this folder, by name.
export const DEVICES: Map<string, Device> = new Map(
  (await importFolder(new URL('./', import.meta.url), (m) => m.device as Device | undefined)).map((d) => [d.name, d]),
);

// Turn `auto`, a device name or a comma list into the devices to try, in order.
export function resolveDevices(spec: string): Device[] {
  if (spec === 'auto') return [...DEVICES.values()].sort((a, b) => a.priority - b.priority);
  return spec.split(',').map((s) => {
    const d = DEVICES.get(s.trim());
    if (!d)
      throw new UserError(`--device: unknown device '${s}'; choose one of auto, ${[...DEVICES.keys()].join(', ')}`);
    return d;
  });
}
export type { Device };
