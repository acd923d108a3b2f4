import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';

// Parse `--input-shape NxCxHxW` against the model's first input: positive whole dims, the model's rank, and the
// channel count it fixes (batch and, for images, H and W may differ: shape inference then checks the graph). Errors
// name the option.
export function parseInputShape(text: string, model: Model, option = '--input-shape'): number[] {
  const parts = text.trim().toLowerCase().split('x');
  if (parts.some((p) => !/^\d+$/.test(p)) || parts.map(Number).some((d) => d <= 0)) {
    throw new UserError(
      `${option}: '${text}' is not a shape like 1x3x224x224 (positive whole numbers separated by 'x')`,
    );
  }
  const dims = parts.map(Number);
  const x = model.graph.inputs.find((v) => !v.constant);
  const declared = x?.type?.shape;
  if (!declared) return dims;
  if (declared.length !== dims.length) {
    throw new UserError(
      `${option}: '${text}' has ${dims.length} dims but the model's input '${x!.name}' has ${declared.length} (${declared.join('x')})`,
    );
  }
  declared.forEach((d, i) => {
    const free = i === 0 || (declared.length === 4 && i >= 2);
    if (!free && typeof d === 'number' && d > 0 && d !== dims[i]) {
      throw new UserError(
        `${option}: '${text}' gives ${dims[i]} for dim ${i} of input '${x!.name}', which the model fixes at ${d} (${declared.join('x')})`,
      );
    }
  });
  return dims;
}
