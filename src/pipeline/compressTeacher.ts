import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openData } from '../data/index.js';
import { describeClassifier } from '../data/modelData.js';
import { loadModel, saveModel, type Model } from '../ir/model.js';
import { META_CLASSES, META_PREPROCESS } from '../ir/metadata.js';
import type { RunRecord } from '../train/loop.js';
import { buildZooModel } from '../zoo/index.js';
import { EMBEDDED_DATA, SHIPPED_TEACHER } from './assets.js';
import { chooseStudent, type StudentChoice } from './chooseStudent.js';
import { applyRecipe } from './recipe.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from '../util/output.js';
import { DEFAULT_SIZE, type CompressOptions } from './compressConfig.js';
import { parseNumbers, parseShape, teacherInput } from './distillInputs.js';

// The teacher as compress sees it: a model to choose the student for (before training), and a file to evaluate
// (after), with the preprocessing flags it is evaluated with when it records none.

// The teacher as a model to choose a student for: a file, or a zoo architecture built for the data.
export async function teacherForChoice(
  cfg: CompressOptions,
  spec: string,
): Promise<{ model: Model; io: { input: [number, number, number]; classes: number } }> {
  if (!spec.startsWith('zoo:')) {
    const model = loadModel(resolve(spec));
    return {
      model,
      io: teacherInput(model, spec, cfg.input ? parseShape(cfg.input) : undefined),
    };
  }
  const input = cfg.input ? parseShape(cfg.input) : undefined;
  const ds = await openData(cfg.data ?? EMBEDDED_DATA, {
    ...(input ? { input } : {}),
    augment: 'none',
    seed: cfg.seed ?? 0,
    ...(cfg.valSplit !== undefined ? { valSplit: cfg.valSplit } : {}),
  });
  const io = { input: ds.input, classes: ds.classes.length };
  return { model: buildZooModel(spec.slice(4), { ...io, seed: cfg.seed ?? 0 }), io };
}

// The teacher file the report evaluates: the file given; else the online-trained teacher the run exported; else
// the zoo teacher distill built (same seed), saved beside the students with their class names and preprocessing.
export function teacherFile(spec: string, run: RunRecord, studentFile: string, outDir: string, seed: number): string {
  if (!spec.startsWith('zoo:')) return resolve(spec);
  if (run.outputs.teacher) return run.outputs.teacher;
  const student = loadModel(studentFile);
  const info = describeClassifier(student, studentFile);
  const m = buildZooModel(spec.slice(4), { input: info.input, classes: info.classes, seed });
  for (const key of [META_CLASSES, META_PREPROCESS]) {
    const v = student.metadata().get(key);
    if (v !== undefined) m.setMetadata(key, v);
  }
  const path = join(outDir, 'teacher.onnx');
  saveModel(m, path);
  return path;
}

// A teacher file without recorded preprocessing is evaluated with the --input/--mean/--std the run was given.
export function teacherPreprocessFlags(cfg: CompressOptions) {
  return {
    ...(cfg.input ? { input: parseShape(cfg.input) } : {}),
    ...(cfg.mean ? { mean: parseNumbers(cfg.mean, '--mean') } : {}),
    ...(cfg.std ? { std: parseNumbers(cfg.std, '--std') } : {}),
  };
}

// The teacher spec (--teacher, else the shipped one), checked to exist before anything trains.
export function checkTeacher(cfg: CompressOptions): string {
  const teacherSpec = cfg.teacher ?? SHIPPED_TEACHER;
  if (cfg.teacher === undefined && !existsSync(SHIPPED_TEACHER))
    throw new UserError(
      `no teacher given and the shipped teacher is missing (${SHIPPED_TEACHER})`,
      'give one: onnx-distill compress teacher.onnx',
    );
  if (!teacherSpec.startsWith('zoo:') && !existsSync(teacherSpec))
    throw new UserError(`teacher '${teacherSpec}': no such file (give an .onnx classifier or zoo:<name>)`);
  return teacherSpec;
}

// Stage 1: --student as given (with its recipe), or the student chosen under the --size budget (and its recipe).
export async function pickStudent(
  cfg: CompressOptions,
  teacherSpec: string,
  explicit: Set<string>,
  recipe: string | undefined,
  c: CliContext,
): Promise<{ student: CompressOptions['student']; choice: StudentChoice | undefined }> {
  if (cfg.student !== undefined) {
    c.log(`student ${[cfg.student].flat().join(', ')} (as given)`);
    if (recipe) c.log(recipe);
    return { student: cfg.student, choice: undefined };
  }
  const t = await teacherForChoice(cfg, teacherSpec);
  const choice = chooseStudent(t.model, t.io, cfg.size ?? DEFAULT_SIZE);
  c.log(choice.reason);
  const chosen = applyRecipe(cfg, [choice.spec], explicit);
  if (chosen) c.log(chosen);
  return { student: choice.spec, choice };
}
