import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { CliContext } from '../util/output.js';
import { loadConfigFile } from '../config/file.js';
import { COMMON_OPTIONS, compressOptionTable, DISTILL_OPTIONS } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import { openData, openValData } from '../data/index.js';
import { evaluateModel, type EvalReport } from '../eval/index.js';
import {
  exportModel,
  FORMATS,
  writeExport,
  type ExportOptions,
  type ExportResult,
  type Format,
} from '../export/index.js';
import { VerificationError } from '../export/verify.js';
import { checkWeightBits } from '../export/qdq.js';
import { loadModel, saveModel, type Model } from '../ir/model.js';
import {
  writeReport,
  type ReportFormat,
  type ReportRole,
  type QuantizationSummary,
  type ReportRow,
  type WrittenReport,
} from '../report/index.js';
import type { RunRecord } from '../train/loop.js';
import { defaultLrUpdate } from '../train/schedule.js';
import { UserError } from '../util/errors.js';
import { lockOutFolder } from '../util/lock.js';
import { buildZooModel } from '../zoo/index.js';
import { chooseStudent, type StudentChoice } from './chooseStudent.js';
import { distill, EMBEDDED_DATA, SHIPPED_TEACHER } from './distill.js';
import { describeClassifier, openModelData, type ModelData } from '../data/modelData.js';
import { applyRecipe, explicitKeys } from './recipe.js';
import { teacherInput } from './unlabeled.js';
import type { DistillOptions } from './options.js';
import { qatFineTune, qatTrigger } from './qat.js';
import { META_CLASSES, META_PREPROCESS } from '../ir/metadata.js';

// The options of `compress` (and of its library call): every distill option, plus the student budget, the export
// formats and their calibration. Keys as in a run config file.
export interface CompressOptions extends DistillOptions {
  // Parameter budget relative to the teacher (default 0.25); the student is chosen under it unless `student` is given.
  size?: number;
  // Comma-separated export formats (default fp32,fp16,int8).
  formats?: string;
  verifyImages?: number;
  // The quantisation-aware fine-tune after the fp32 run (with `qat`, or when PTQ int8 loses more than maxInt8Drop).
  qatEpochs?: number;
  maxInt8Drop?: number;
  // Seconds of timed latency runs per model and batch size (default 10).
  latencySeconds?: number;
}

// An export that failed its verification: left out of the report, named in it.
export interface SkippedExport {
  model: string;
  format: Format;
  reason: string;
}

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

// The student budget when neither --size nor --student is given.
export const DEFAULT_SIZE = 0.25;

const DISTILL_KEYS = new Set([...COMMON_OPTIONS, ...DISTILL_OPTIONS].map((o) => o.key));

// Options as given -> the resolved config: compress's defaults, then `config` file, then these (as distill does,
// `resume` starts from the run's saved config.yaml).
export function resolveCompressConfig(given: CompressOptions & { config?: string }): CompressOptions {
  return resolveWithKeys(given).cfg;
}

// The resolved config with the recipe of a given --student applied, and the keys the user set (for the recipe of a
// student chosen later by --size).
function resolveWithKeys(given: CompressOptions & { config?: string }): {
  cfg: CompressOptions;
  explicit: Set<string>;
  recipe?: string;
} {
  const table = compressOptionTable();
  const { config, ...flags } = given;
  const saved = flags.resume ? join(resolve(flags.resume), 'config.yaml') : undefined;
  const base = saved && existsSync(saved) ? loadConfigFile(saved, table) : {};
  const cfg = resolveConfig(table, { ...base, ...flags } as Record<string, unknown>, config) as CompressOptions;
  if (flags.resume) cfg.out = resolve(flags.resume);
  cfg.lrUpdate ??= defaultLrUpdate(cfg.schedule!);
  const explicit = explicitKeys(flags, config, table, base);
  const recipe = cfg.student !== undefined ? applyRecipe(cfg, [cfg.student].flat(), explicit) : undefined;
  return { cfg, explicit, ...(recipe ? { recipe } : {}) };
}

// `fp32,fp16,int8` -> the formats, in that order, each once.
export function parseFormats(text: string): Format[] {
  const parts = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  const bad = parts.find((p) => !FORMATS.includes(p as Format));
  if (bad !== undefined) throw new UserError(`--formats: unknown format '${bad}'; choose from ${FORMATS.join(', ')}`);
  if (!parts.length) throw new UserError(`--formats: '${text}' names no format; give some of ${FORMATS.join(', ')}`);
  return FORMATS.filter((f) => parts.includes(f));
}

function stage(c: CliContext, k: number, what: string): void {
  c.log(`[${k}/4] ${what}`);
}

// The teacher as a model to choose a student for: a file, or a zoo architecture built for the data.
async function teacherForChoice(
  cfg: CompressOptions,
  spec: string,
): Promise<{ model: Model; io: { input: [number, number, number]; classes: number } }> {
  if (!spec.startsWith('zoo:')) {
    const model = loadModel(resolve(spec));
    return {
      model,
      io: teacherInput(
        model,
        spec,
        cfg.input ? (cfg.input.toLowerCase().split('x').map(Number) as [number, number, number]) : undefined,
      ),
    };
  }
  const input = cfg.input ? (cfg.input.toLowerCase().split('x').map(Number) as [number, number, number]) : undefined;
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
function teacherFile(spec: string, run: RunRecord, studentFile: string, outDir: string, seed: number): string {
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

// The format a given teacher file is stored in: int8 when it has quantised weights, fp16 when its weights are half.
function storedFormat(m: Model): ReportFormat {
  if (m.graph.nodes.some((n) => n.opType === 'DequantizeLinear' || n.opType.startsWith('QLinear'))) return 'int8';
  return m.graph.initializers.some((v) => v.type?.dtype === 'float16') ? 'fp16' : 'fp32';
}

const shown = (path: string, outDir: string) => {
  const rel = relative(outDir, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
};

function row(
  model: string,
  role: ReportRole,
  format: ReportFormat,
  file: string,
  outDir: string,
  e: EvalReport,
  notes?: string,
): ReportRow {
  const at = (b: number) => e.latency.find((l) => l.batch === b)?.p50 ?? 0;
  return {
    model,
    role,
    format,
    file: shown(file, outDir),
    accuracy: e.accuracy.top1,
    sizeBytes: e.sizeBytes,
    params: e.parameters,
    macs: e.macs,
    latencyMsBatch1: at(1),
    latencyMsBatch32: at(32),
    ...(e.classes.length > 5 ? { top5: e.accuracy.top5 } : {}),
    ...(notes ? { notes } : {}),
  };
}

function exportNotes(r: ExportResult): string {
  const v = r.verification;
  const cal = r.calibration;
  const how = cal
    ? 'dynamic' in cal
      ? 'dynamic int8; '
      : `calibrated (${cal.calibrator}) on ${cal.images} training images; `
    : '';
  return `${how}top-1 agreement with ${r.reference} ${(100 * v.node.top1Agreement).toFixed(1)}% (node), ${(100 * v.web.top1Agreement).toFixed(1)}% (web) on ${v.images} images`;
}

// The run's config.yaml is read back by --resume with paths relative to the run folder, so the paths given relative
// to the working directory are made absolute before distill records them.
function absolutePaths(cfg: DistillOptions): Pick<DistillOptions, 'teacher' | 'data' | 'student' | 'valData'> {
  const abs = (v: string) => (/^(zoo:|slim:|fashion-mnist$|mnist$)/.test(v) || isAbsolute(v) ? v : resolve(v));
  return {
    ...(cfg.teacher !== undefined ? { teacher: abs(cfg.teacher) } : {}),
    ...(cfg.data !== undefined ? { data: abs(cfg.data) } : {}),
    ...(cfg.valData !== undefined ? { valData: abs(cfg.valData) } : {}),
    ...(cfg.student !== undefined
      ? { student: Array.isArray(cfg.student) ? cfg.student.map(abs) : abs(cfg.student) }
      : {}),
  };
}

// Every trained network in every format, each verified before it is written; one that fails its verification is
// skipped with a warning (the run's other exports and the report are still worth having).
async function exportAll(
  trained: [string, string][],
  formats: Format[],
  o: Omit<ExportOptions, 'format'>,
  outDir: string,
  c: CliContext,
): Promise<{ exports: { model: string; format: Format; file: string; notes: string }[]; skipped: SkippedExport[] }> {
  const exports: { model: string; format: Format; file: string; notes: string }[] = [];
  const skipped: SkippedExport[] = [];
  for (const [name, path] of trained) {
    for (const format of formats) {
      const file = join(outDir, `${name}.${format}.onnx`);
      try {
        const r = await exportModel(path, { ...o, format }, c);
        writeExport(r, file);
        exports.push({ model: name, format, file, notes: exportNotes(r) });
        c.log(`  ${shown(file, outDir)}: ${exportNotes(r)}`);
      } catch (err: unknown) {
        if (!(err instanceof VerificationError)) throw err;
        skipped.push({ model: name, format, reason: err.message });
        c.log(`warning: ${name} ${format} not exported: ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
      }
    }
  }
  return { exports, skipped };
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
  const teacherSpec = cfg.teacher ?? SHIPPED_TEACHER;
  if (cfg.teacher === undefined && !existsSync(SHIPPED_TEACHER))
    throw new UserError(
      `no teacher given and the shipped teacher is missing (${SHIPPED_TEACHER})`,
      'give one: onnx-distill compress teacher.onnx',
    );
  if (!teacherSpec.startsWith('zoo:') && !existsSync(teacherSpec))
    throw new UserError(`teacher '${teacherSpec}': no such file (give an .onnx classifier or zoo:<name>)`);
  if (cfg.student !== undefined && cfg.size !== undefined)
    throw new UserError(
      `--size ${cfg.size} chooses the student, but --student ${[cfg.student].flat().join(' ')} names one; give one of them`,
    );

  stage(c, 1, 'choosing the student');
  let choice: StudentChoice | undefined;
  let student = cfg.student;
  if (student === undefined) {
    const t = await teacherForChoice(cfg, teacherSpec);
    choice = chooseStudent(t.model, t.io, cfg.size ?? DEFAULT_SIZE);
    student = choice.spec;
    c.log(choice.reason);
    const chosen = applyRecipe(cfg, [student], explicit);
    if (chosen) c.log(chosen);
  } else {
    c.log(`student ${[student].flat().join(', ')} (as given)`);
    if (recipe) c.log(recipe);
  }
  const method = cfg.method ?? ((cfg.students ?? 1) >= 2 ? 'kdml' : 'kd');
  if (teacherSpec.startsWith('zoo:') && !/dml/.test(method))
    c.log(
      `warning: the teacher ${teacherSpec} is built untrained, and ${method} does not train it; give a trained .onnx teacher for a useful student`,
    );

  stage(c, 2, `distilling (${method}, ${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'})`);
  // The fp32 run trains without fake quantisation: compress's --qat is the fine-tune after it.
  const distillCfg = Object.fromEntries(
    Object.entries(cfg).filter(([k, v]) => DISTILL_KEYS.has(k) && k !== 'qat' && v !== undefined),
  ) as DistillOptions;
  const t1 = performance.now();
  const run = await distill({ ...distillCfg, ...absolutePaths({ ...distillCfg, student }), method }, c);
  const outDir = resolve(cfg.out!);
  const seconds: Record<string, number> = { choose: (t1 - t0) / 1000, distill: (performance.now() - t1) / 1000 };
  if (run.interrupted)
    return { outDir, rows: [], report: undefined, reportJson: undefined, run, choice, skipped: [], interrupted: true };

  const data = cfg.data ?? EMBEDDED_DATA;
  const split = {
    seed: cfg.seed ?? 0,
    ...(cfg.valSplit !== undefined ? { valSplit: cfg.valSplit } : {}),
    ...(cfg.unlabeled ? { unlabeled: true } : {}),
  };
  const threads = cfg.threads ?? availableParallelism();
  const trained = Object.entries(run.outputs).filter(([k, p]) => p.endsWith('.onnx') && k !== 'teacher');
  stage(c, 3, `exporting ${trained.map(([k]) => k).join(', ')} as ${formats.join(', ')}`);
  const t2 = performance.now();
  // Every network of one run was trained on the same images with the same preprocessing: open the data once for all.
  const opened = await openModelData(
    data,
    describeClassifier(loadModel(trained[0]![1]), trained[0]![1]),
    {},
    c,
    '--data',
    split,
  );
  const exportOpts = {
    data,
    calibration: cfg.calibration!,
    calibrate: cfg.calibrate!,
    weightBits,
    verifyImages: cfg.verifyImages!,
    threads,
    split,
    opened,
  };
  const { exports, skipped } = await exportAll(trained, formats, exportOpts, outDir, c);
  seconds.export = (performance.now() - t2) / 1000;

  const tFile = teacherFile(teacherSpec, run, run.outputs[trained[0]![0]]!, outDir, cfg.seed ?? 0);
  // Accuracy on labelled data (the validation split, or --val-data); on unlabeled data, agreement with the teacher.
  const evalData = cfg.valData ? await valDataFor(cfg.valData, opened) : opened;
  const metric = evalData.labelled ? 'accuracy' : 'teacher agreement';
  stage(
    c,
    4,
    `evaluating the teacher and ${exports.length} export(s) on ${cfg.valData ? `--val-data (${evalData.description})` : 'the validation split'}${metric === 'accuracy' ? '' : ': agreement with the teacher (the data has no labels)'}`,
  );
  const t3 = performance.now();
  const evalOpts = {
    data,
    split,
    threads: 1,
    ...(cfg.latencySeconds !== undefined ? { latencySeconds: cfg.latencySeconds } : {}),
  };
  const teacherEval = await evaluateModel(
    tFile,
    {
      ...evalOpts,
      ...(cfg.valData || !opened.labelled ? { opened: evalData } : { preprocess: teacherPreprocessFlags(cfg) }),
      ...(metric === 'accuracy' ? {} : { labels: 'predictions' as const }),
    },
    c,
  );
  const labels = metric === 'accuracy' ? {} : { labels: teacherEval.predictions };
  const rows = [
    row(
      'teacher',
      'teacher',
      storedFormat(loadModel(tFile)),
      tFile,
      outDir,
      teacherEval,
      run.outputs.teacher === tFile ? 'trained online with the students' : undefined,
    ),
  ];
  const evals = [teacherEval];
  for (const e of exports) {
    const ev = await evaluateModel(e.file, { ...evalOpts, opened: evalData, ...labels }, c);
    evals.push(ev);
    rows.push(row(e.model, e.model === 'ensemble' ? 'ensemble' : 'student', e.format, e.file, outDir, ev, e.notes));
  }
  seconds.evaluate = (performance.now() - t3) / 1000;
  const t4 = performance.now();
  const quantization = await qatStage(cfg, rows, {
    distillCfg: { ...distillCfg, ...absolutePaths({ ...distillCfg, student }), method },
    studentFile: run.outputs.student,
    outDir,
    exportOpts,
    evalOpts: { ...evalOpts, opened: evalData, ...labels },
    c,
  });
  if (quantization) {
    seconds.qat = (performance.now() - t4) / 1000;
    skipped.push(...quantization.skipped);
    evals.push(...quantization.evals);
  }
  seconds.total = (performance.now() - t0) / 1000;

  const meta = {
    command: 'compress',
    teacher: shown(tFile, outDir),
    student: Array.isArray(student) && student.length === 1 ? student[0] : student,
    method,
    data,
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
    skipped,
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
  return { outDir, rows, report, reportJson, run, choice, skipped, interrupted: false };
}

// --qat and --max-int8-drop compare and write int8 students: int8 must be exported, and the fine-tune trains one student.
function checkQatOptions(cfg: CompressOptions, formats: Format[]): void {
  const flag = cfg.qat ? '--qat' : cfg.maxInt8Drop !== undefined ? '--max-int8-drop' : undefined;
  if (!flag) return;
  if (!formats.includes('int8'))
    throw new UserError(`${flag}: compares int8 students, but --formats ${formats.join(',')} has no int8`);
  const students = cfg.students ?? (Array.isArray(cfg.student) ? cfg.student.length : 1);
  if (students > 1)
    throw new UserError(`${flag}: the quantisation-aware fine-tune trains one student; this run has ${students}`);
}

// The QAT stage of compress (pipeline/qat.ts decides and trains): when asked, or when PTQ int8 lost more than
// --max-int8-drop points, fine-tune the fp32 student quantisation-aware, export it as int8 at its trained parameters
// (verified like every export), evaluate it, and add its row beside fp32 and PTQ int8.
async function qatStage(
  cfg: CompressOptions,
  rows: ReportRow[],
  o: {
    distillCfg: DistillOptions;
    studentFile: string | undefined;
    outDir: string;
    exportOpts: Omit<ExportOptions, 'format'>;
    evalOpts: Parameters<typeof evaluateModel>[1];
    c: CliContext;
  },
): Promise<{ summary: QuantizationSummary; skipped: SkippedExport[]; evals: EvalReport[] } | undefined> {
  const fp32 = rows.find((r) => r.model === 'student' && r.format === 'fp32')?.accuracy;
  const ptq = rows.find((r) => r.model === 'student' && r.format === 'int8')?.accuracy;
  const drop = fp32 !== undefined && ptq !== undefined ? 100 * (fp32 - ptq) : undefined;
  const trigger = qatTrigger(cfg, drop);
  if (!trigger || !o.studentFile) {
    if (cfg.maxInt8Drop !== undefined && drop !== undefined)
      o.c.log(`PTQ int8 loses ${drop.toFixed(2)} points (≤ --max-int8-drop ${cfg.maxInt8Drop}): no QAT fine-tune`);
    return undefined;
  }
  const epochs = cfg.qatEpochs!;
  o.c.log(
    `[qat] fine-tuning the student quantisation-aware for ${epochs} epoch${epochs === 1 ? '' : 's'}` +
      (trigger === 'qat' ? ' (--qat)' : ` (PTQ int8 loses ${drop!.toFixed(2)} points > --max-int8-drop ${cfg.maxInt8Drop})`),
  );
  const tuned = await qatFineTune(distill, o.distillCfg, o.studentFile, { epochs, outDir: o.outDir }, o.c);
  const { exports, skipped } = await exportAll([['student-qat', tuned.student]], ['int8'], o.exportOpts, o.outDir, o.c);
  let qat: number | undefined;
  const evals: EvalReport[] = [];
  for (const e of exports) {
    const ev = await evaluateModel(e.file, o.evalOpts, o.c);
    evals.push(ev);
    rows.push(row(e.model, 'student', e.format, e.file, o.outDir, ev, `QAT (${epochs} epoch${epochs === 1 ? '' : 's'}); ${e.notes}`));
    qat = ev.accuracy.top1;
  }
  const summary: QuantizationSummary = {
    model: 'student',
    trigger,
    epochs,
    lr: tuned.lr,
    ...(cfg.maxInt8Drop !== undefined ? { maxInt8Drop: cfg.maxInt8Drop } : {}),
    ...(fp32 !== undefined ? { fp32 } : {}),
    ...(ptq !== undefined ? { ptq } : {}),
    ...(qat !== undefined ? { qat } : {}),
    run: shown(join(o.outDir, 'qat'), o.outDir),
  };
  return { summary, skipped, evals };
}

// --val-data opened like the run's data (input, normalisation, crop), labels mapped onto the students' classes.
async function valDataFor(spec: string, like: ModelData): Promise<ModelData> {
  const p = like.preprocess;
  const v = await openValData(
    resolve(spec),
    { input: p.input, stats: { mean: p.mean, std: p.std }, preprocess: p },
    like.classes,
  );
  return { ...like, val: v.val, labelled: true, description: v.description };
}

// A teacher file without recorded preprocessing is evaluated with the --input/--mean/--std the run was given.
function teacherPreprocessFlags(cfg: CompressOptions) {
  const nums = (t: string) => t.split(',').map(Number);
  return {
    ...(cfg.input ? { input: cfg.input.toLowerCase().split('x').map(Number) as [number, number, number] } : {}),
    ...(cfg.mean ? { mean: nums(cfg.mean) } : {}),
    ...(cfg.std ? { std: nums(cfg.std) } : {}),
  };
}

// How latency was measured, per report row: the timed runs made at each batch size and whether the time budget cut them.
function latencyMeta(teacher: EvalReport, rows: ReportRow[], evals: EvalReport[]) {
  const first = teacher.latency[0];
  return {
    engine: teacher.runtime.engine,
    version: teacher.runtime.version,
    threads: teacher.runtime.threads,
    statistic: 'p50',
    plannedRuns: first?.plannedRuns ?? 0,
    budgetSeconds: first?.budgetSeconds ?? 0,
    runs: Object.fromEntries(
      evals.map((e, i) => [
        `${rows[i]!.model} ${rows[i]!.format}`,
        Object.fromEntries(e.latency.map((l) => [`batch${l.batch}`, l.runs])),
      ]),
    ),
  };
}

// report.md's account of the latency measurement: engine, threads, the run budget and where time cut it short.
function latencyNote(evals: EvalReport[]): string {
  const first = evals[0]!;
  const l = first.latency[0];
  const cut = evals.filter((e) => e.latency.some((r) => r.stoppedBy === 'time')).map((e) => e.model.split('/').pop());
  return `onnxruntime-node ${first.runtime.version}, ${first.runtime.threads} thread; up to ${l?.plannedRuns ?? 0} timed runs or ${l?.budgetSeconds ?? 0} s per model and batch size${cut.length ? `; the time budget ended the timing of ${cut.join(', ')}` : ''}`;
}
