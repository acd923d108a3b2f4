import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { CliContext } from '../util/output.js';
import { describeClassifier, openModelData } from '../data/modelData.js';
import { FORMATS, type Format } from '../export/index.js';
import { checkWeightBits } from '../export/qdq.js';
import { loadModel } from '../ir/model.js';
import { writeReport, type ReportRow, type WrittenReport } from '../report/index.js';
import type { RunRecord } from '../train/loop.js';
import { UserError } from '../util/errors.js';
import { lockOutFolder } from '../util/lock.js';
import { EMBEDDED_DATA } from './assets.js';
import type { StudentChoice } from './chooseStudent.js';
import {
  DEFAULT_SIZE,
  distillConfigOf,
  parseFormats,
  resolveWithKeys,
  type CompressOptions,
} from './compressConfig.js';
import { evaluateStage } from './compressEvaluate.js';
import { exportAll, type Exported, type SkippedExport } from './compressExport.js';
import { latencyMeta, latencyNote, shown } from './compressReport.js';
import { checkQatOptions, qatStage } from './compressQat.js';
import { checkTeacher, pickStudent } from './compressTeacher.js';
import { distill } from './distill.js';

// `compress`, the whole job in four stages: choose a student for the budget, distil it, export and verify every
// format, evaluate teacher and exports and write the report. Config in compressConfig.ts, the teacher's two roles in
// compressTeacher.ts, exports in compressExport.ts, evaluation in compressEvaluate.ts, report rows in compressReport.ts.

// The config side, re-exported where the CLI, the jobs and the library have always imported it from.
export { DEFAULT_SIZE, parseFormats, resolveCompressConfig, type CompressOptions } from './compressConfig.js';
export type { SkippedExport } from './compressExport.js';

// What `compress` did: the report's rows and files, the distill run, the student choice.
export interface CompressResult {
  outDir: string;
  rows: ReportRow[];
  // Undefined when the run was interrupted (resume it with `resume: outDir`).
  report: WrittenReport | undefined;
  // report.json's content, as written.
  reportJson: Record<string, unknown> | undefined;
  run: RunRecord;
  choice: StudentChoice | undefined;
  skipped: SkippedExport[];
  interrupted: boolean;
}

// The whole `compress` command as a library call: choose a student for the budget (or take --student), distil it
// from the teacher, export fp32/fp16/int8 (each verified in onnxruntime-node and -web), evaluate the teacher and
// every export on the validation split, and write report.json, report.md and the plots to `out`.
export async function compress(
  options: CompressOptions & { config?: string },
  ctx?: CliContext,
): Promise<CompressResult> {
  const { cfg, explicit, recipe } = resolveWithKeys(options);
  const unlock = lockOutFolder(cfg.out!, 'compress', cfg.resume !== undefined ? '--resume' : '--out');
  try {
    return await compressLocked(cfg, explicit, recipe, ctx);
  } finally {
    unlock();
  }
}

// compress with its --out folder locked (the distill run inside takes the same lock again).
async function compressLocked(
  cfg: CompressOptions,
  explicit: Set<string>,
  recipe: string | undefined,
  ctx?: CliContext,
): Promise<CompressResult> {
  const c = ctx ?? { json: false, verbose: false, print: () => {}, log: () => {} };
  const t0 = performance.now();
  const formats = parseFormats(cfg.formats ?? FORMATS.join(','));
  // Checked here, before the student trains, not when the int8 export first reads it.
  const weightBits = checkWeightBits(cfg.weightBits);
  checkQatOptions(cfg, formats);
  const teacherSpec = checkTeacher(cfg);
  if (cfg.student !== undefined && cfg.size !== undefined)
    throw new UserError(
      `--size ${cfg.size} chooses the student, but --student ${[cfg.student].flat().join(' ')} names one; give one of them`,
    );

  stage(c, 1, 'choosing the student');
  const { student, choice } = await pickStudent(cfg, teacherSpec, explicit, recipe, c);
  const method = cfg.method ?? ((cfg.students ?? 1) >= 2 ? 'kdml' : 'kd');
  if (teacherSpec.startsWith('zoo:') && !/dml/.test(method))
    c.log(
      `warning: the teacher ${teacherSpec} is built untrained, and ${method} does not train it; give a trained .onnx teacher for a useful student`,
    );

  stage(c, 2, `distilling (${method}, ${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'})`);
  const t1 = performance.now();
  const run = await distill(distillConfigOf(cfg, student, method), c);
  const outDir = resolve(cfg.out!);
  const seconds: Record<string, number> = { choose: (t1 - t0) / 1000, distill: (performance.now() - t1) / 1000 };
  if (run.interrupted)
    return { outDir, rows: [], report: undefined, reportJson: undefined, run, choice, skipped: [], interrupted: true };

  const t2 = performance.now();
  const exported = await exportStage(cfg, run, formats, weightBits, outDir, c);
  seconds.export = (performance.now() - t2) / 1000;

  const t3 = performance.now();
  const evaluated = await evaluateStage(cfg, run, teacherSpec, exported, outDir, c);
  seconds.evaluate = (performance.now() - t3) / 1000;
  const t4 = performance.now();
  const quantization = await qatStage(cfg, evaluated.rows, {
    distillCfg: distillConfigOf(cfg, student, method),
    studentFile: run.outputs.student,
    outDir,
    exportOpts: exported.options,
    evalOpts: evaluated.exportEval,
    c,
  });
  if (quantization) {
    seconds.qat = (performance.now() - t4) / 1000;
    exported.skipped.push(...quantization.skipped);
    evaluated.evals.push(...quantization.evals);
  }
  seconds.total = (performance.now() - t0) / 1000;

  const { tFile, evalData, metric, teacherEval, rows, evals } = evaluated;
  const meta = {
    command: 'compress',
    teacher: shown(tFile, outDir),
    student: Array.isArray(student) && student.length === 1 ? student[0] : student,
    method,
    data: exported.data,
    epochs: cfg.epochs,
    ...(choice
      ? {
          choice: {
            size: cfg.size ?? DEFAULT_SIZE,
            budget: choice.budget,
            teacherParams: choice.teacherParams,
            reason: choice.reason,
            candidates: choice.candidates,
          },
        }
      : {}),
    distill: { loss: run.loss, networks: run.networks, ensemble: run.ensemble },
    evaluation: {
      metric,
      split: cfg.valData ? 'val-data' : 'validation',
      data: evalData.description,
      images: teacherEval.accuracy.images,
      ...(metric === 'accuracy'
        ? {}
        : {
            note: "the data has no labels: Top-1 is the agreement with the teacher (the fraction of held-out images whose top class is the teacher's), and the teacher's own is 100% by definition",
          }),
      latency: latencyMeta(teacherEval, rows, evals),
    },
    ...(quantization ? { qat: quantization.summary } : {}),
    skipped: exported.skipped,
    seconds,
  };
  const report = await writeReport(outDir, rows, {
    ...(quantization ? { quantization: quantization.summary } : {}),
    title: `Compression report: ${method} from ${shown(tFile, outDir)}${metric === 'accuracy' ? '' : ' (Top-1: agreement with the teacher)'}`,
    history: run.history,
    meta,
    metric,
    latencyNote: latencyNote(evals),
  });
  const reportJson = JSON.parse(readFileSync(report.json, 'utf8')) as Record<string, unknown>;
  return { outDir, rows, report, reportJson, run, choice, skipped: exported.skipped, interrupted: false };
}

function stage(c: CliContext, k: number, what: string): void {
  c.log(`[${k}/4] ${what}`);
}

// Stage 3: every trained network of the run in every format, on the data opened once for all of them.
async function exportStage(
  cfg: CompressOptions,
  run: RunRecord,
  formats: Format[],
  weightBits: ReturnType<typeof checkWeightBits>,
  outDir: string,
  c: CliContext,
): Promise<Exported> {
  const data = cfg.data ?? EMBEDDED_DATA;
  const split = {
    seed: cfg.seed ?? 0,
    ...(cfg.valSplit !== undefined ? { valSplit: cfg.valSplit } : {}),
    ...(cfg.unlabeled ? { unlabeled: true } : {}),
  };
  const threads = cfg.threads ?? availableParallelism();
  const trained = Object.entries(run.outputs).filter(([k, p]) => p.endsWith('.onnx') && k !== 'teacher');
  stage(c, 3, `exporting ${trained.map(([k]) => k).join(', ')} as ${formats.join(', ')}`);
  // Every network of one run was trained on the same images with the same preprocessing: open the data once for all.
  const opened = await openModelData(
    data,
    describeClassifier(loadModel(trained[0]![1]), trained[0]![1]),
    {},
    c,
    '--data',
    split,
  );
  const options = {
    data,
    calibration: cfg.calibration!,
    calibrate: cfg.calibrate!,
    weightBits,
    verifyImages: cfg.verifyImages!,
    threads,
    split,
    opened,
  };
  const { exports, skipped } = await exportAll(trained, formats, options, outDir, c);
  return { data, split, opened, trained, exports, skipped, options };
}
