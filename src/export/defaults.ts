import type { ClassifierInfo } from '../data/modelData.js';
import { UserError } from '../util/errors.js';
import type { IoType } from './fp16.js';
import type { WeightBits } from './qdq.js';

// Defaults: 512 calibration images (onnxruntime's examples use a few hundred), 1,000 verification images.
export const DEFAULTS = {
  calibration: 512,
  calibrate: 'percentile',
  verifyImages: 1000,
  io: 'fp32' as IoType,
  weightBits: 7 as WeightBits,
};

// Images per calibration and verification batch when the model's input does not fix one.
export const BATCH = 32;

// Whole batches only when the input's batch size is fixed (onnxruntime refuses a short last batch); none is an error.
export function wholeBatches(wanted: number, batch: number, what: string, path: string, info: ClassifierInfo): number {
  const n = info.batch === undefined ? wanted : Math.floor(wanted / batch) * batch;
  if (n === 0 && wanted > 0)
    throw new UserError(
      `${path}: input '${info.inputName}' has a fixed batch of ${batch} images, more than the ${wanted} ${what} images`,
      'give the model a dynamic batch dim, or use more images',
    );
  return n;
}
