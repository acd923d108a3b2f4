import { termByName } from '../compiler/terms/index.js';
import { META_CLASSES } from '../ir/metadata.js';
import type { Model } from '../ir/model.js';
import type { MethodDef } from '../methods/index.js';
import type { RunTerm } from '../methods/types.js';
import { UserError } from '../util/errors.js';

// Distillation without labels: KD needs only the teacher's outputs, so a folder of images (or a list without labels)
// is enough to compress a deployed model whose training set is not at hand. This file holds the rules a run on such
// data follows: where its classes come from, which terms it keeps, and which runs cannot work without labels.

// The teacher's class names (its `onnx_distill.classes` metadata) or its output indices, and where they came from.
export function teacherClasses(teacher: Model, outputs: number): { classes: string[]; classesFrom: string } {
  const text = teacher.metadata().get(META_CLASSES);
  try {
    const names = text === undefined ? undefined : (JSON.parse(text) as unknown);
    if (Array.isArray(names) && names.length === outputs && names.every((n) => typeof n === 'string'))
      return { classes: names as string[], classesFrom: "named by the teacher's metadata" };
  } catch {
    /* not JSON: fall back to indices */
  }
  return {
    classes: Array.from({ length: outputs }, (_, i) => String(i)),
    classesFrom: `the teacher's ${outputs} outputs, named by index`,
  };
}

// Which label source the run's terms read: the data's labels, the teacher's argmax (pseudo-labels), or none.
export interface LabelPlan {
  terms: RunTerm[];
  // The network whose argmax replaces the labels (`--pseudo-labels`).
  pseudoLabels?: string;
}

// Terms of weight 0 are left out of the step (a zero-weighted CE would still need labels); on unlabeled data without
// --pseudo-labels the terms that read labels are left out too, with a notice; a run left with no term is an error.
export function planLabels(
  terms: RunTerm[],
  o: {
    labelled: boolean;
    pseudoLabels: boolean;
    teacher: string | undefined;
    method: string;
    log: (l: string) => void;
  },
): LabelPlan {
  if (o.pseudoLabels && !o.teacher)
    throw new UserError(
      `--pseudo-labels takes the labels from the teacher's predictions, but --method ${o.method} has no teacher`,
    );
  const zero = terms.filter((t) => t.weight === 0);
  if (zero.length) o.log(`left out of the step (weight 0): ${zero.map((t) => t.name).join(', ')}`);
  let kept = terms.filter((t) => t.weight !== 0);
  const reading = kept.filter((t) => termByName(t.term).needsLabels);
  if (!o.labelled && !o.pseudoLabels && reading.length) {
    kept = kept.filter((t) => !reading.includes(t));
    if (!kept.length) {
      throw new UserError(
        `--method ${o.method} needs labels: its terms (${reading.map((t) => t.name).join(', ')}) all read them, and the training data has none`,
        "add --pseudo-labels to train them on the teacher's predictions, or use a method with a teacher term (kd, at, fitnet, ...)",
      );
    }
    o.log(
      `unlabeled data: left out ${reading.map((t) => t.name).join(', ')} (${reading.length > 1 ? 'they read' : 'it reads'} labels); --pseudo-labels would train ${reading.length > 1 ? 'them' : 'it'} on the teacher's predictions instead`,
    );
  }
  if (!kept.length)
    throw new UserError(
      `every term of --method ${o.method} has weight 0 (${terms.map((t) => t.name).join(', ')}); give one a positive weight in --terms`,
    );
  if (o.pseudoLabels && reading.length)
    o.log(
      `pseudo-labels: ${reading.map((t) => t.name).join(', ')} ${reading.length > 1 ? 'read' : 'reads'} the teacher's argmax instead of ${o.labelled ? "the data's labels" : 'labels'}`,
    );
  return { terms: kept, ...(o.pseudoLabels && reading.length ? { pseudoLabels: o.teacher! } : {}) };
}

// Runs that cannot learn from unlabeled data: without a teacher nothing says what the classes are, and a staged
// method's stages train heads or proxies on labels.
export function checkUnlabeledRun(
  methods: MethodDef[],
  o: { method: string; teacherFile: string | undefined; mode: MethodDef['teacher'] },
): void {
  if (o.mode === 'none')
    throw new UserError(
      `--method ${o.method} has no teacher, and the training data has no labels: nothing would say what to learn`,
      'distil from a trained teacher: --method kd --teacher model.onnx (add --pseudo-labels to train CE on its predictions too)',
    );
  if (o.mode === 'trainable')
    throw new UserError(
      `--method ${o.method} trains its teacher online on the labels, and the training data has none`,
      'use an offline method (kd, kd+at, ...) with a trained --teacher',
    );
  if (!o.teacherFile)
    throw new UserError(
      'unlabeled data needs a trained teacher file: a zoo: teacher is built untrained, so it knows no classes',
      'give --teacher model.onnx',
    );
  const staged = methods.find((m) => m.stages);
  if (staged)
    throw new UserError(
      `--method ${o.method}: the staged method ${staged.name} trains its stages on labels, and the training data has none`,
      'use a single-stage method (kd, kd+at, ...), or labelled data',
    );
}
