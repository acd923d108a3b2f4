import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import { deriveStudent } from '../models/student.js';
import { UserError } from '../util/errors.js';
import { buildZooModel, loadTrainableModel, resolveModelSpec } from '../zoo/index.js';
import { staticClassifierIO } from '../ir/classifier.js';
import { fileSha256 } from './distillConfig.js';
import type { TeacherSource } from './distillInputs.js';
import { frozenNames } from './freeze.js';
import type { DistillOptions } from './options.js';

// The models of a distill run, once its data is open: the teacher (a file read earlier, or a zoo model built for the
// data), the students derived from it or built alone, and ifm's proxy teacher; each checked against the data's classes.

// The data shape every model of the run is built for or checked against.
export interface DataShape {
  input: [number, number, number];
  classes: number;
}

// The teacher model, or undefined when the run needs none; a teacher file must predict the data's classes.
export function teacherModel(cfg: DistillOptions, src: TeacherSource, data: DataShape): Model | undefined {
  if (!src.needed) return undefined;
  const teacher =
    src.model ?? buildZooModel(src.spec.slice(4), { input: data.input, classes: data.classes, seed: cfg.seed! });
  if (src.io && src.io.classes !== data.classes)
    throw new UserError(
      `the teacher ${src.spec} predicts ${src.io.classes} classes but the data ${cfg.data ?? 'embedded'} has ${data.classes}`,
      "if the data's sub-folders are not classes, pass --unlabeled to distil from its images alone",
    );
  return teacher;
}

// The students, one network each (`student`, or `student1..K`), derived from the teacher when there is one; each must
// predict the data's classes.
export function buildStudents(
  cfg: DistillOptions,
  specs: string[],
  teacher: { model: Model | undefined; classes: number | undefined },
  data: DataShape,
  log: (line: string) => void,
): NetworkSpec[] {
  const students = specs.map((spec, k) => {
    const name = specs.length > 1 ? `student${k + 1}` : 'student';
    const seed = cfg.seed! + k;
    const model: Model = teacher.model
      ? deriveStudent(teacher.model, spec, { input: data.input, classes: data.classes, seed })
      : deriveStudentWithoutTeacher(spec, data.input, data.classes, seed);
    const frozen = cfg.freeze ? freezeStudent(model, cfg.freeze, name, log) : undefined;
    return {
      name,
      model,
      role: 'student' as const,
      trainable: true,
      ...(cfg.noDecayBnBias ? { noDecay: 'norm-and-bias' as const } : {}),
      ...(frozen ? { frozen } : {}),
    };
  });
  for (const s of students) {
    const k = staticClassifierIO(s.model.graph).classes;
    if (k !== data.classes)
      throw new UserError(
        `student '${s.name}' predicts ${k} classes but the data has ${data.classes}${teacher.model ? ` (and the teacher ${teacher.classes ?? data.classes})` : ''}`,
      );
  }
  return students;
}

// --proxy (ifm): a zoo model built for the data, or a classifier file; the stage key names the zoo spec or the bytes.
export function proxyModel(spec: string, data: DataShape, seed: number): { model: Model; key: string } {
  const { input, classes } = data;
  const model = resolveModelSpec(spec, { input, classes, seed: seed + 1000 });
  const k = staticClassifierIO(model.graph, `--proxy ${spec}`).classes;
  if (k !== classes) throw new UserError(`--proxy ${spec} predicts ${k} classes but the data has ${classes}`);
  return {
    model,
    key: spec.startsWith('zoo:') ? `${spec}@${input.join('x')}/${classes}/${seed}` : fileSha256(resolve(spec)),
  };
}

// --freeze: the student's tensors it selects, kept fixed (said in the log).
function freezeStudent(model: Model, spec: string, name: string, log: (l: string) => void): (n: string) => boolean {
  const names = frozenNames(model, spec);
  log(
    `--freeze ${spec}: ${names.size} learned tensors of ${name} fixed (no update; their BatchNorms normalise with the running statistics, which stay as they are)`,
  );
  return (n) => names.has(n);
}

function deriveStudentWithoutTeacher(
  spec: string,
  input: [number, number, number],
  classes: number,
  seed: number,
): Model {
  if (spec.startsWith('zoo:')) return buildZooModel(spec.slice(4), { input, classes, seed });
  if (!existsSync(spec))
    throw new UserError(`--student: '${spec}' is neither zoo:<name>, slim:<ratio> nor an existing .onnx file`);
  return loadTrainableModel(spec);
}
