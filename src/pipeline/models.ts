import { existsSync } from 'node:fs';
import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';
import { loadTrainableModel, resolveModelSpec } from '../zoo/index.js';

// Resolve `--model` for training: a zoo name built for the data's input and classes, or an ONNX file as it is.
export function resolveStudentModel(
  spec: string,
  opts: { input: [number, number, number]; classes: number; seed: number },
): Model {
  if (spec.startsWith('zoo:')) return resolveModelSpec(spec, opts);
  if (!existsSync(spec))
    throw new UserError(
      `--model: '${spec}' is neither a zoo:<name> nor an existing .onnx file (list the zoo with \`onnx-distill models\`)`,
    );
  return loadTrainableModel(spec);
}
