import { existsSync } from 'node:fs';
import { loadModel, type Model } from '../ir/model.js';
import { untieBatchNormStatistics } from '../ir/passes/untieBatchNorm.js';
import { UserError } from '../util/errors.js';
import { importFolder } from '../util/registry.js';
import { ZOO_METADATA_KEY, type ZooEntry, type ZooOptions } from './types.js';

// Every zoo architecture, found from the family files in ./families (one file per family), by name.
export const ZOO: Map<string, ZooEntry> = new Map(
  (await importFolder(new URL('./families/', import.meta.url), (m) => m.models as ZooEntry[] | undefined))
    .flat()
    .map((e) => [e.name, e]),
);

// Accept RepDistiller's spellings too: `wrn_40_2`, `ShuffleV1`, `vgg8_bn`, `mobile_half`.
export function canonicalZooName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/^(vgg\d+)-bn$/, '$1');
}

// A zoo entry by name (RepDistiller spellings, `<family>-p<N>` patch variants), or undefined.
export function findZooEntry(name: string): ZooEntry | undefined {
  const canonical = canonicalZooName(name);
  const patched = /^(.+)-p([1-9]\d*)$/.exec(canonical);
  const base = patched ? ZOO.get(patched[1]!) : undefined;
  return ZOO.get(canonical) ?? (base?.withPatch ? base.withPatch(Number(patched![2])) : undefined);
}

// Look a zoo entry up by name, or throw a UserError listing the zoo.
export function zooEntry(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw new UserError(`unknown zoo model '${name}'; choose one of ${[...ZOO.keys()].join(', ')}`);
  return e;
}

// Build an initialised zoo model for an image shape [C,H,W] and class count (seed 0 unless given).
export function buildZooModel(
  name: string,
  opts: { input: [number, number, number]; classes: number; seed?: number },
): Model {
  const [inChannels, height, width] = opts.input;
  if (![inChannels, height, width, opts.classes].every((d) => Number.isInteger(d) && d > 0)) {
    throw new UserError(
      `zoo:${name}: input ${opts.input.join('x')} and classes ${opts.classes} must be positive whole numbers`,
    );
  }
  const full: ZooOptions = { inChannels, height, width, classes: opts.classes, seed: opts.seed ?? 0 };
  try {
    return zooEntry(name).build(full);
  } catch (err: unknown) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `zoo:${name} cannot be built for input ${opts.input.join('x')}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

// A model named on the command line: `zoo:<name>` (built fresh) or a path to an .onnx file.
export function resolveModelSpec(
  spec: string,
  opts: { input: [number, number, number]; classes: number; seed?: number },
): Model {
  if (spec.startsWith('zoo:')) return buildZooModel(spec.slice(4), opts);
  if (spec.startsWith('slim:'))
    throw new UserError(
      `'${spec}' derives a student from a teacher; it is only valid where a teacher is given (--student of train/distill)`,
    );
  if (existsSync(spec) || spec.endsWith('.onnx')) return loadTrainableModel(spec);
  throw new UserError(
    `model '${spec}': expected zoo:<name> (one of ${[...ZOO.keys()].join(', ')}), slim:<ratio> or a path to an .onnx file`,
  );
}

// How a zoo model was built, from its metadata (undefined for a model the zoo did not build).
export function zooBuildOf(
  model: Model,
): { name: string; input: [number, number, number]; classes: number; seed: number } | undefined {
  const text = model.metadata().get(ZOO_METADATA_KEY);
  if (!text) return undefined;
  try {
    const z = JSON.parse(text) as { name?: unknown; input?: unknown; classes?: unknown; seed?: unknown };
    if (typeof z.name !== 'string' || !Array.isArray(z.input) || z.input.length !== 3 || typeof z.classes !== 'number')
      return undefined;
    return {
      name: z.name,
      input: z.input as [number, number, number],
      classes: z.classes,
      seed: typeof z.seed === 'number' ? z.seed : 0,
    };
  } catch {
    return undefined;
  }
}

// The zoo model's architecture with every layer twice as wide, freshly initialised under `seed`, or undefined when the
// model is not from the zoo or its family has no widened form (information-flow KD's proxy teacher).
export function widenZooModel(model: Model, seed: number): Model | undefined {
  const z = zooBuildOf(model);
  const wide = z && ZOO.get(canonicalZooName(z.name))?.widen?.();
  if (!z || !wide) return undefined;
  const [inChannels, height, width] = z.input;
  return wide.build({ inChannels, height, width, classes: z.classes, seed });
}

export type { ZooEntry, ZooOptions };
export { TAP_NAMES, TAPS_METADATA_KEY, ZOO_METADATA_KEY } from './types.js';

// A model file to train: BatchNorm statistics that PyTorch's exporter tied to the scale/shift get their own tensors.
export function loadTrainableModel(path: string): Model {
  const m = loadModel(path);
  untieBatchNormStatistics(m.graph);
  return m;
}
