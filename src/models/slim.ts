import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';

// Importance criterion for channel slimming.
export type SlimCriterion = 'l1' | 'bn-gamma';

// Placeholder until the slimming pass lands (issue 5).
export function slimModel(_model: Model, _ratio: number, _opts: { criterion: SlimCriterion }): Model {
  throw new UserError('slim:<ratio> students are not implemented yet');
}
