// A student spec resolved against its teacher: `slim:` slims the teacher (models/slim.ts), anything else is a zoo
// name or a file (zoo/). Lives in models/ so the zoo never reads the slimming code.
import type { Model } from '../ir/model.js';
import { UserError } from '../util/errors.js';
import { resolveModelSpec } from '../zoo/index.js';
import { staticClassifierIO } from '../ir/classifier.js';
import { slimModel, type SlimCriterion } from './slim.js';

// Parse `slim:<ratio>[:l1|bn-gamma]`.
export function parseSlimSpec(spec: string): { ratio: number; criterion: SlimCriterion } {
  const [, ratioText = '', crit = 'l1', ...rest] = spec.split(':');
  const ratio = Number(ratioText);
  if (rest.length || ratioText.trim() === '' || !Number.isFinite(ratio))
    throw new UserError(`'${spec}': expected slim:<ratio>[:l1|bn-gamma], e.g. slim:0.5`);
  if (crit !== 'l1' && crit !== 'bn-gamma')
    throw new UserError(`'${spec}': unknown importance criterion '${crit}'; use l1 or bn-gamma`);
  return { ratio, criterion: crit };
}

// A student for a teacher: `slim:<ratio>` slims the teacher; `zoo:<name>` is built for the teacher's input and classes
// (unless given); anything else is a path. The teacher is never modified.
export function deriveStudent(
  teacher: Model,
  spec: string,
  opts: { input?: [number, number, number]; classes?: number; seed?: number } = {},
): Model {
  if (spec.startsWith('slim:')) {
    const { ratio, criterion } = parseSlimSpec(spec);
    return slimModel(teacher, ratio, { criterion });
  }
  const io = staticClassifierIO(teacher.graph);
  return resolveModelSpec(spec, {
    input: opts.input ?? io.input,
    classes: opts.classes ?? io.classes,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
}
