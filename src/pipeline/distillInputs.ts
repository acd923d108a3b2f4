import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Model } from '../ir/model.js';
import type { MethodDef } from '../methods/types.js';
import { augmentParamsOf } from '../data/augment.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from '../util/output.js';
import { loadTrainableModel } from '../zoo/index.js';
import { META_PREPROCESS } from '../ir/metadata.js';
import { EMBEDDED_DATA, SHIPPED_TEACHER } from './assets.js';
import { loadTrainingData, type TrainingData } from './data.js';
import type { DistillOptions } from './options.js';
import { checkUnlabeledRun, teacherClasses } from './unlabeled.js';
import { classifierIO, staticClassifierIO } from '../ir/classifier.js';
import { describeClassifier } from '../data/modelData.js';

// What a distill run reads before any network is built: the teacher's file (its input size, class count and recorded
// normalisation) and the training data, opened at the size and with the normalisation the teacher implies.

// The normalisation and resizing a teacher this tool trained records in its metadata.
export interface TeacherPreprocess {
  mean?: number[];
  std?: number[];
  cropFraction?: number;
  resize?: number;
}

// The teacher as the config names it: a zoo spec (built once the data's shape is known) or a file, read here.
export interface TeacherSource {
  // --teacher, or the shipped teacher.
  spec: string;
  // Whether the run needs a teacher at all (a teacher term, or a slim: student derived from it).
  needed: boolean;
  // The resolved path, when the teacher is a file the run needs.
  file?: string;
  model?: Model;
  io?: { input: [number, number, number]; classes: number };
  pre?: TeacherPreprocess;
}

// Read the teacher file the run needs (none for zoo: teachers and teacher-less methods), fixing a dynamic image size
// to --input.
export function resolveTeacherSource(
  cfg: DistillOptions,
  studentSpecs: string[],
  mode: MethodDef['teacher'],
): TeacherSource {
  const needed = mode !== 'none' || studentSpecs.some((s) => s.startsWith('slim:'));
  const spec = cfg.teacher ?? SHIPPED_TEACHER;
  if (cfg.teacher === undefined && needed && !existsSync(SHIPPED_TEACHER))
    throw new UserError(`no --teacher given and the shipped teacher is missing (${SHIPPED_TEACHER})`);
  if (!needed || spec.startsWith('zoo:')) return { spec, needed };
  const file = resolve(spec);
  const model = loadTrainableModel(file);
  const io = teacherInput(model, file, cfg.input ? parseShape(cfg.input) : undefined);
  const pre = teacherPreprocess(model);
  return { spec, needed, file, model, io, ...(pre ? { pre } : {}) };
}

// The training data of a distill run: --data (else the embedded set) at the teacher's input size, normalised as the
// teacher records, unless the flags say otherwise.
export async function openDistillData(
  cfg: DistillOptions,
  o: { teacher: TeacherSource; studentSpecs: string[]; methods: MethodDef[]; mode: MethodDef['teacher'] },
  c: CliContext,
): Promise<TrainingData> {
  const { file, model, io, pre } = o.teacher;
  return loadTrainingData(
    cfg.data ?? EMBEDDED_DATA,
    {
      ...(cfg.input ? { input: parseShape(cfg.input) } : io ? { input: io.input } : {}),
      model: file ?? o.studentSpecs.find((s) => !s.startsWith('slim:')) ?? 'zoo:cnn',
      seed: cfg.seed!,
      strict: cfg.strict!,
      augment: cfg.augment!,
      ...(cfg.valSplit !== undefined ? { valSplit: cfg.valSplit } : {}),
      ...(cfg.mean ? { mean: parseNumbers(cfg.mean, '--mean') } : pre?.mean ? { mean: pre.mean } : {}),
      ...(cfg.std ? { std: parseNumbers(cfg.std, '--std') } : pre?.std ? { std: pre.std } : {}),
      ...(cfg.computeStats !== undefined ? { computeStats: cfg.computeStats } : {}),
      ...(cfg.cropFraction !== undefined
        ? { cropFraction: cfg.cropFraction }
        : cfg.evalResize !== undefined
          ? {}
          : pre?.resize
            ? { evalResize: pre.resize }
            : pre?.cropFraction
              ? { cropFraction: pre.cropFraction }
              : {}),
      augmentParams: augmentParamsOf(cfg),
      ...(cfg.evalResize !== undefined ? { evalResize: cfg.evalResize } : {}),
      mix: { mixup: cfg.mixup ?? 0, cutmix: cfg.cutmix ?? 0 },
      ...(cfg.unlabeled ? { unlabeled: true } : {}),
      ...(cfg.valData ? { valData: cfg.valData } : {}),
      ...(model && io && o.mode !== 'none' ? teacherClasses(model, io.classes) : {}),
      checkUnlabeled: () => checkUnlabeledRun(o.methods, { method: cfg.method!, teacherFile: file, mode: o.mode }),
    },
    c,
  );
}

// The teacher's input size and class count: from its graph, or, when its image size is dynamic (a deployed model
// exported for any size), from --input CxHxW, fixed on the loaded model so the training step has static shapes.
export function teacherInput(
  model: Model,
  file: string,
  input: [number, number, number] | undefined,
): { input: [number, number, number]; classes: number } {
  const io = classifierIO(model.graph, file);
  const shape = io.shape;
  if (!io.layout || !shape || io.image) return staticClassifierIO(model.graph, file);
  if (!input)
    throw new UserError(
      `${file}: the teacher's input '${io.inputName}' is [${shape.join(', ')}], its image size is dynamic`,
      'give the size to train at with --input CxHxW',
    );
  const fixed = shape.slice(1).findIndex((d, i) => typeof d === 'number' && d !== input[i]);
  if (fixed >= 0)
    throw new UserError(
      `--input ${input.join('x')} disagrees with ${file}, whose input '${io.inputName}' is [${shape.join(', ')}]`,
    );
  io.input.type = { ...io.input.type!, shape: [shape[0]!, ...input] };
  return { input, classes: describeClassifier(model, file, { input }).classes };
}

// The normalisation a teacher this tool trained was fed (so the students see the same inputs).
function teacherPreprocess(m: Model): TeacherPreprocess | undefined {
  const text = m.metadata().get(META_PREPROCESS);
  if (!text) return undefined;
  try {
    const p = JSON.parse(text) as TeacherPreprocess;
    return {
      ...(Array.isArray(p.mean) ? { mean: p.mean } : {}),
      ...(Array.isArray(p.std) ? { std: p.std } : {}),
      ...(typeof p.cropFraction === 'number' ? { cropFraction: p.cropFraction } : {}),
      ...(typeof p.resize === 'number' ? { resize: p.resize } : {}),
    };
  } catch {
    return undefined;
  }
}

// --input CxHxW as a shape, or a UserError naming the option.
export function parseShape(text: string): [number, number, number] {
  const d = text.toLowerCase().split('x').map(Number);
  if (d.length !== 3 || d.some((x) => !Number.isInteger(x) || x <= 0))
    throw new UserError(`--input: '${text}' is not a shape like 3x32x32`);
  return d as [number, number, number];
}

// --mean / --std as numbers, or a UserError naming the option.
export function parseNumbers(text: string, option: string): number[] {
  const v = text.split(',').map((p) => Number(p.trim()));
  if (v.some((x) => !Number.isFinite(x)))
    throw new UserError(`${option}: '${text}' is not a comma-separated list of numbers`);
  return v;
}
