import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext } from '../util/output.js';
import { parseMethods, teacherMode } from '../methods/index.js';
import { runNetworks, type RunOptions, type RunRecord } from '../train/loop.js';
import { runStages, type StagedRecord, type StageSpec } from '../train/stages.js';
import { UserError } from '../util/errors.js';
import { lockOutFolder } from '../util/lock.js';
import type { TrainingData } from './data.js';
import {
  expandStudents,
  provenanceMetadata,
  resolveWithSource,
  saveRunConfig,
  type KeyLocator,
} from './distillConfig.js';
import { openDistillData, resolveTeacherSource } from './distillInputs.js';
import { buildStudents, teacherModel } from './distillModels.js';
import { composeNetworks, distillTerms } from './distillNetworks.js';
import { distillRunOptions, distillStages } from './distillRun.js';
import type { DistillOptions } from './options.js';
import { attachQat } from './qat.js';
import { checkStageNames } from './staged.js';

// The `distill` command's orchestration: config -> teacher and data -> students -> networks and terms -> the run (or
// a staged method's stages) -> the loop. Each step lives in its own file (distillConfig, distillInputs, distillModels,
// distillNetworks, distillRun); compile-only artifacts in compileDistill.ts.

// Distil one or more students from a teacher with the chosen method(s): the whole `distill` command as a library call.
export async function distill(
  options: DistillOptions & { config?: string },
  ctx?: CliContext,
): Promise<RunRecord | StagedRecord> {
  const { cfg, where, recipe } = resolveWithSource(options);
  const unlock = lockOutFolder(cfg.out!, 'distill', cfg.resume !== undefined ? '--resume' : '--out');
  try {
    if (recipe) ctx?.log(recipe);
    const { run, report, staged } = await prepareDistill(cfg, ctx, where);
    const record = staged
      ? await runStages(staged.stages, {
          outDir: run.outDir,
          ...(run.resume ? { resume: true } : {}),
          ...(staged.teacherBytes ? { teacherBytes: staged.teacherBytes } : {}),
          ...(run.log ? { log: run.log } : {}),
        })
      : await runNetworks(run);
    report();
    return record;
  } finally {
    unlock();
  }
}

// Everything a distill run needs, from a resolved config: data, networks, terms, exports (shared with compileDistill).
export async function prepareDistill(
  cfg: DistillOptions,
  ctx: CliContext | undefined,
  where: KeyLocator,
  opened?: TrainingData,
): Promise<{ run: RunOptions; report: () => void; staged?: { stages: StageSpec[]; teacherBytes?: Uint8Array } }> {
  const c = ctx ?? { json: false, verbose: false, print: () => {}, log: () => {} };
  const methods = parseMethods(cfg.method!);
  const stagedDef = methods.find((m) => m.stages);
  if (cfg.stages !== undefined) {
    if (!stagedDef?.stageNames)
      throw new UserError(
        `${where(['stages'])}: --method ${cfg.method} has no stages (the staged methods are mgd+<base> and ifm); set its epochs and optimizer at the top level`,
      );
    checkStageNames(cfg.method!, stagedDef.stageNames, cfg.stages, where);
  }
  const mode = teacherMode(methods);
  const studentSpecs = expandStudents(cfg);
  const source = resolveTeacherSource(cfg, studentSpecs, mode);
  const data = opened ?? (await openDistillData(cfg, { teacher: source, studentSpecs, methods, mode }, c));
  const shape = { input: data.input, classes: data.classes.length };
  const teacher = teacherModel(cfg, source, shape);
  const students = buildStudents(cfg, studentSpecs, { model: teacher, classes: source.io?.classes }, shape, c.log);
  const { networks, composed } = composeNetworks(cfg, methods, teacher, students);
  const terms = distillTerms(cfg, methods, networks, {
    students: students.map((s) => s.name),
    labelled: data.labelled,
    trainSize: data.train.size,
    log: c.log,
  });
  const outDir = resolve(cfg.out!);
  const runId = saveRunConfig(cfg, outDir);
  if (cfg.qat && stagedDef)
    throw new UserError(
      `--qat: not available for the staged method ${stagedDef.name}; distil first, then compress --qat`,
    );
  const qat = cfg.qat ? await attachQat(students, data, cfg, outDir, c.log) : undefined;
  const files: Record<string, string> = Object.fromEntries(students.map((s) => [s.name, `${s.name}.onnx`]));
  if (mode === 'trainable') files.teacher = 'teacher.onnx';
  const run = distillRunOptions(
    cfg,
    data,
    {
      ...terms,
      networks,
      students,
      files,
      metadata: provenanceMetadata(cfg.method!, source.file),
      composed,
      outDir,
      runId,
      ...(qat ? { networkMetadata: qat.networkMetadata } : {}),
    },
    c,
  );
  if (!stagedDef) return { run, report: () => data.report(c) };
  if (!teacher) throw new Error(`method '${stagedDef.name}' needs a teacher`);
  const stages = distillStages(cfg, stagedDef, { methods, teacher, students, data, run }, where);
  return {
    run,
    report: () => data.report(c),
    staged: { stages, ...(source.file ? { teacherBytes: readFileSync(source.file) } : {}) },
  };
}
