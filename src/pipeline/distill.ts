import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext } from '../util/output.js';
import { resolveConfig } from '../config/resolve.js';
import { COMMON_OPTIONS, DISTILL_OPTIONS } from '../config/options.js';
import { configToYaml, loadConfigFile, locateKey } from '../config/file.js';
import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import {
  applyTermWeights,
  mixTerms,
  parseMethods,
  parseTermWeights,
  standardizeTerms,
  teacherMode,
} from '../methods/index.js';
import { augmentParamsOf } from '../data/augment.js';
import { mixing } from '../data/mix.js';
import { defaultLrUpdate, parseSchedule } from '../train/schedule.js';
import { compileInference } from '../compiler/inference.js';
import { compileStep, type CompiledStep } from '../compiler/step.js';
import { writeArtifacts, type ArtifactContract } from '../train/artifacts.js';
import { configRunId, newRunId } from '../train/checkpoint.js';
import { runNetworks, type RunOptions, type RunRecord } from '../train/loop.js';
import { runStages, type StagedRecord, type StageSpec } from '../train/stages.js';
import { checkStageNames, dryBuild, methodStages, stageFolder, type StageCommon } from './staged.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { lockOutFolder } from '../util/lock.js';
import { buildZooModel, loadTrainableModel, resolveModelSpec, teacherIO } from '../zoo/index.js';
import { deriveStudent } from '../models/student.js';
import { loadTrainingData, type TrainingData } from './data.js';
import { checkUnlabeledRun, planLabels, teacherClasses, teacherInput } from './unlabeled.js';
import { featureTaps } from './taps.js';
import type { DistillOptions } from './options.js';
import { applyRecipe, explicitKeys } from './recipe.js';
import { frozenNames } from './freeze.js';
import { attachQat } from './qat.js';
import { META_METHOD, META_PREPROCESS, META_TEACHER_SHA256 } from '../ir/metadata.js';

// The teacher shipped in the package (models/fashion-mnist-teacher), used when no --teacher is given.
export const SHIPPED_TEACHER = fileURLToPath(new URL('../../models/fashion-mnist-teacher/model.onnx', import.meta.url));
// The dataset shipped in the package (models/fashion-mnist-subset).
export const EMBEDDED_DATA = fileURLToPath(new URL('../../models/fashion-mnist-subset', import.meta.url));

const ALL_OPTIONS = [...COMMON_OPTIONS, ...DISTILL_OPTIONS];

// Options as given (library call or parsed flags) -> the resolved config: defaults, then `config` file, then these.
// `--resume DIR` starts from the config that run saved (DIR/config.yaml), so resuming needs no other flag.
export function resolveDistillConfig(given: DistillOptions & { config?: string }): DistillOptions {
  return resolveWithSource(given).cfg;
}

// The resolved config, where its `stages:` keys were written (file:line) for errors found later, and the recipe note.
function resolveWithSource(given: DistillOptions & { config?: string }): {
  cfg: DistillOptions;
  where: (key: string[]) => string;
  recipe?: string;
} {
  const { config, ...flags } = given;
  const saved = flags.resume ? join(resolve(flags.resume), 'config.yaml') : undefined;
  const base = saved && existsSync(saved) ? loadConfigFile(saved, ALL_OPTIONS) : {};
  const cfg = resolveConfig(ALL_OPTIONS, { ...base, ...flags } as Record<string, unknown>, config) as DistillOptions;
  if (flags.resume) cfg.out = resolve(flags.resume);
  const recipe = applyRecipe(cfg, expandStudents(cfg), explicitKeys(flags, config, ALL_OPTIONS, base));
  // Resolved, so --print-config and run.json say when the lr moves.
  cfg.lrUpdate ??= defaultLrUpdate(cfg.schedule!);
  const file =
    flags.stages !== undefined
      ? undefined
      : config && loadConfigFile(config, ALL_OPTIONS).stages !== undefined
        ? config
        : base.stages !== undefined
          ? saved
          : undefined;
  return {
    cfg,
    where: (key) => `${file ? `${locateKey(file, key)}: ` : ''}'${key.join('.')}'`,
    ...(recipe ? { recipe } : {}),
  };
}

// The resolved config as YAML (`--print-config`).
export function printConfig(cfg: DistillOptions): string {
  return configToYaml(cfg as Record<string, unknown>);
}

// Where a teacher's bytes come from, for the hash recorded in every student's metadata.
function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

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

// What `compile` writes for a staged method: one artifact folder per stage, in order (also listed in stages.json).
export interface StagedArtifacts {
  format: 'onnx-distill-staged-artifacts/1';
  stages: {
    name: string;
    dir: string;
    trains: string[];
    handedOver: string[];
    exports: string[];
    contract: ArtifactContract;
  }[];
  note: string;
}

// Compile what a distill run would execute and write it as artifacts to `dir`, without training (`onnx-distill compile`).
// A staged method gets one folder per stage (stage<i>-<name>/); a later stage is compiled on the untrained networks
// the earlier stages would hand over (see StagedArtifacts.note).
export async function compileDistill(
  options: DistillOptions & { config?: string },
  dir: string,
  ctx?: CliContext,
): Promise<ArtifactContract | StagedArtifacts> {
  const { cfg, where, recipe } = resolveWithSource(options);
  if (recipe) ctx?.log(recipe);
  const { run, staged } = await prepareDistill({ ...cfg, saveArtifacts: dir }, ctx, where);
  if (!staged) return compileRun(run, dir);
  const handed = new Set<string>();
  const stages = dryBuild(staged.stages).map((r, i) => {
    const name = staged.stages[i]!.name;
    const sub = stageFolder(i, name);
    const stage = {
      name,
      dir: sub,
      trains: r.networks.filter((n) => n.trainable).map((n) => n.name),
      handedOver: r.networks.filter((n) => handed.has(n.name)).map((n) => n.name),
      exports: Object.keys(r.exports.files),
      contract: compileRun({ ...r, outDir: run.outDir }, join(dir, sub)),
    };
    for (const n of stage.exports) handed.add(n);
    return stage;
  });
  const out: StagedArtifacts = {
    format: 'onnx-distill-staged-artifacts/1',
    stages,
    note:
      'run the stages in order. A network an earlier stage hands over (handedOver) was compiled into the later stage untrained: ' +
      "the parts the later stage trains are state inputs of the same names (feed the earlier stage's final values instead of initial_state.onnx); " +
      'the parts it keeps frozen are constants inside its train_step.onnx, so recompile it once the earlier stage has trained, or use distill --save-artifacts, which writes every stage with the trained weights',
  };
  writeFileAtomic(
    join(dir, 'stages.json'),
    JSON.stringify({ ...out, stages: stages.map(({ contract: _c, ...s }) => s) }, null, 2),
  );
  return out;
}

// The step and eval graphs of one run, written as artifacts.
function compileRun(run: RunOptions, dir: string): ArtifactContract {
  return compileRunStep(run, dir).contract;
}

function compileRunStep(run: RunOptions, dir: string): { step: CompiledStep; contract: ArtifactContract } {
  const step = compileStep({
    networks: run.networks,
    terms: run.terms,
    batch: run.batchSize,
    optimizer: run.optimizer,
    hyper: run.hyper,
    seed: run.seed,
    ...(run.pseudoLabels ? { pseudoLabels: run.pseudoLabels } : {}),
  });
  const ev = compileInference(
    run.networks.filter((n) => n.trainable),
    { ...(run.ensemble ? { ensemble: run.ensemble } : {}), feeders: run.networks.filter((n) => !n.trainable) },
  );
  return { step, contract: writeArtifacts(dir, run, step, { ...ev, outputs: ev.graph.outputs.map((v) => v.name) }) };
}

// `compile` for data opened elsewhere (a browser page's images, decoded in the page; only their count, classes and
// normalisation reach here): the artifacts in `dir`, and the run and step kept so the caller can export what the
// page trains. One-stage methods only: a staged method's later stages need the earlier ones' trained weights.
export async function compileDistillOn(
  options: DistillOptions,
  data: TrainingData,
  dir: string,
): Promise<{ run: RunOptions; step: CompiledStep; contract: ArtifactContract }> {
  const { cfg, where } = resolveWithSource({ ...options, out: dir });
  const { run, staged } = await prepareDistill({ ...cfg, saveArtifacts: dir }, undefined, where, data);
  if (staged)
    throw new UserError(
      `--method ${cfg.method}: a staged method trains its stages one after another; run it with \`onnx-distill distill\``,
    );
  return { run, ...compileRunStep(run, dir) };
}

// Everything a distill run needs, from a resolved config: data, networks, terms, exports.
async function prepareDistill(
  cfg: DistillOptions,
  ctx: CliContext | undefined,
  where: (key: string[]) => string,
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
  const needTeacher = mode !== 'none' || studentSpecs.some((s) => s.startsWith('slim:'));
  const teacherSpec = cfg.teacher ?? SHIPPED_TEACHER;
  if (cfg.teacher === undefined && needTeacher && !existsSync(SHIPPED_TEACHER))
    throw new UserError(`no --teacher given and the shipped teacher is missing (${SHIPPED_TEACHER})`);
  const teacherFile = needTeacher && !teacherSpec.startsWith('zoo:') ? resolve(teacherSpec) : undefined;
  const teacherFileModel = teacherFile ? loadTrainableModel(teacherFile) : undefined;
  const io = teacherFileModel
    ? teacherInput(teacherFileModel, teacherFile!, cfg.input ? parseShape(cfg.input) : undefined)
    : undefined;
  const pre = teacherFileModel ? teacherPreprocess(teacherFileModel) : undefined;
  const data =
    opened ??
    (await loadTrainingData(
      cfg.data ?? EMBEDDED_DATA,
      {
        ...(cfg.input ? { input: parseShape(cfg.input) } : io ? { input: io.input } : {}),
        model: teacherFile ?? studentSpecs.find((s) => !s.startsWith('slim:')) ?? 'zoo:cnn',
        seed: cfg.seed!,
        strict: cfg.strict!,
        augment: cfg.augment!,
        ...(cfg.valSplit !== undefined ? { valSplit: cfg.valSplit } : {}),
        ...(cfg.mean ? { mean: numbers(cfg.mean, '--mean') } : pre?.mean ? { mean: pre.mean } : {}),
        ...(cfg.std ? { std: numbers(cfg.std, '--std') } : pre?.std ? { std: pre.std } : {}),
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
        ...(teacherFileModel && io && mode !== 'none' ? teacherClasses(teacherFileModel, io.classes) : {}),
        checkUnlabeled: () => checkUnlabeledRun(methods, { method: cfg.method!, teacherFile, mode }),
      },
      c,
    ));
  const classes = data.classes.length;
  const teacher = needTeacher
    ? (teacherFileModel ?? buildZooModel(teacherSpec.slice(4), { input: data.input, classes, seed: cfg.seed! }))
    : undefined;
  if (teacher && io && io.classes !== classes)
    throw new UserError(
      `the teacher ${teacherSpec} predicts ${io.classes} classes but the data ${cfg.data ?? 'embedded'} has ${classes}`,
      "if the data's sub-folders are not classes, pass --unlabeled to distil from its images alone",
    );
  const students = studentSpecs.map((spec, k) => {
    const name = studentSpecs.length > 1 ? `student${k + 1}` : 'student';
    const seed = cfg.seed! + k;
    const model: Model = teacher
      ? deriveStudent(teacher, spec, { input: data.input, classes, seed })
      : deriveStudentWithoutTeacher(spec, data.input, classes, seed);
    const frozen = cfg.freeze ? freezeStudent(model, cfg.freeze, name, c.log) : undefined;
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
    const k = teacherIO(s.model).classes;
    if (k !== classes)
      throw new UserError(
        `student '${s.name}' predicts ${k} classes but the data has ${classes}${teacher ? ` (and the teacher ${io?.classes ?? classes})` : ''}`,
      );
  }
  const networks: NetworkSpec[] = [
    ...(teacher && mode !== 'none'
      ? [
          {
            name: 'teacher',
            model: teacher,
            role: 'teacher' as const,
            trainable: mode === 'trainable',
            lrScale: cfg.teacherLr ?? 1,
            ...(cfg.noDecayBnBias ? { noDecay: 'norm-and-bias' as const } : {}),
          },
        ]
      : []),
    ...students,
  ];
  const composed: Record<string, string> = {};
  for (const m of methods) {
    if (!m.networks) continue;
    if (!teacher) throw new Error(`method '${m.name}' builds networks on a teacher`);
    const added = m.networks({
      teacher,
      teacherName: 'teacher',
      seed: cfg.seed!,
      ...(cfg.kbmTap ? { kbmTap: cfg.kbmTap } : {}),
      ...(cfg.kbmInit ? { kbmInit: cfg.kbmInit } : {}),
    });
    networks.push(...added.networks);
    Object.assign(composed, added.composed);
  }
  if (cfg.proxy !== undefined && !methods.some((m) => m.name === 'ifm'))
    throw new UserError(`--proxy is the proxy teacher of --method ifm; this run's method is ${cfg.method}`);
  for (const m of methods) {
    if (students.length < m.minStudents)
      throw new UserError(
        `--method ${m.name} needs at least ${m.minStudents} students; give --students ${m.minStudents} or repeat --student`,
      );
  }
  const { stages, blocks } = featureTaps(networks);
  const mctx = {
    teacher: networks.some((n) => n.role === 'teacher') ? 'teacher' : undefined,
    students: students.map((s) => s.name),
    stages,
    blocks,
    ...(cfg.tau !== undefined ? { tau: cfg.tau } : {}),
  };
  let terms = mixTerms(
    methods.filter((m) => !m.stages),
    mctx,
  ).map((t) =>
    t.term === 'ce' && cfg.labelSmoothing ? { ...t, options: { ...t.options, smoothing: cfg.labelSmoothing } } : t,
  );
  if (cfg.logitStandardize !== undefined && !methods.some((m) => m.stages))
    terms = standardizeTerms(terms, cfg.logitStandardize);
  if (cfg.terms !== undefined && !methods.some((m) => m.stages))
    terms = applyTermWeights(terms, typeof cfg.terms === 'string' ? parseTermWeights(cfg.terms) : cfg.terms);
  checkMixing(
    cfg,
    terms.map((t) => t.term),
    c,
  );
  const labels = stagedDef
    ? { terms }
    : planLabels(terms, {
        labelled: data.labelled,
        pseudoLabels: !!cfg.pseudoLabels,
        teacher: mctx.teacher,
        method: cfg.method!,
        log: c.log,
      });
  if (stagedDef && cfg.pseudoLabels)
    throw new UserError(`--pseudo-labels: not available for the staged method ${stagedDef.name}`);
  terms = labels.terms;
  const outDir = resolve(cfg.out!);
  const runId = cfg.resume !== undefined ? configRunId(join(outDir, 'config.yaml')) : newRunId();
  writeFileAtomic(
    join(outDir, 'config.yaml'),
    `${runId ? `# onnx-distill run ${runId}\n` : ''}${printConfig({ ...cfg, out: outDir })}`,
  );
  if (cfg.qat && stagedDef)
    throw new UserError(`--qat: not available for the staged method ${stagedDef.name}; distil first, then compress --qat`);
  const qat = cfg.qat ? await attachQat(students, data, cfg, outDir, c.log) : undefined;
  const metadata: Record<string, string> = {
    [META_METHOD]: cfg.method!,
    ...(teacherFile ? { [META_TEACHER_SHA256]: sha256(teacherFile) } : {}),
  };
  const files: Record<string, string> = Object.fromEntries(students.map((s) => [s.name, `${s.name}.onnx`]));
  if (mode === 'trainable') files.teacher = 'teacher.onnx';
  const run: RunOptions = {
    networks,
    terms,
    train: data.train,
    classes: data.classes,
    epochs: cfg.epochs!,
    batchSize: cfg.batchSize!,
    ...validation(data, mctx.teacher),
    ...(labels.pseudoLabels ? { pseudoLabels: labels.pseudoLabels } : {}),
    schedule: parseSchedule(cfg.schedule!, cfg.lr!, cfg.epochs!, cfg.warmup ?? 0, cfg.lrUpdate),
    optimizer: cfg.optimizer!,
    hyper: {
      weightDecay: cfg.weightDecay!,
      momentum: cfg.momentum!,
      nesterov: cfg.nesterov!,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    },
    ...(students.length >= 2 ? { ensemble: students.map((s) => s.name) } : {}),
    exports: {
      files,
      preprocess: data.preprocess,
      metadata,
      ensembleFile: 'ensemble.onnx',
      composed,
      ...(qat ? { networkMetadata: qat.networkMetadata } : {}),
    },
    device: cfg.device!,
    ...(cfg.threads ? { threads: cfg.threads } : {}),
    seed: cfg.seed!,
    outDir,
    resume: cfg.resume !== undefined,
    config: { command: 'distill', ...cfg, out: outDir, augmentation: data.augmentation },
    log: c.log,
    progress: !c.json,
    ...(cfg.bnRecalibrate ? { bnRecalibrate: cfg.bnRecalibrate } : {}),
    ...(runId ? { runId } : {}),
    ...(cfg.saveArtifacts ? { saveArtifacts: resolve(cfg.saveArtifacts) } : {}),
    ...teacherCacheDir(cfg.teacherCache, outDir),
  };
  if (!stagedDef) return { run, report: () => data.report(c) };
  if (!teacher) throw new Error(`method '${stagedDef.name}' needs a teacher`);
  const stageSpecs = methodStages(
    stagedDef,
    {
      teacher,
      students,
      base: methods.filter((m) => m !== stagedDef),
      seed: cfg.seed!,
      ...(cfg.tau !== undefined ? { tau: cfg.tau } : {}),
      ...(cfg.mgdVariant ? { mgdVariant: cfg.mgdVariant } : {}),
      ...(cfg.logitStandardize !== undefined ? { logitStandardize: cfg.logitStandardize } : {}),
      ...(cfg.proxy ? { proxy: proxyModel(cfg.proxy, data.input, classes, cfg.seed!) } : {}),
    },
    stageCommon(run, cfg, where),
  );
  return {
    run,
    report: () => data.report(c),
    staged: { stages: stageSpecs, ...(teacherFile ? { teacherBytes: readFileSync(teacherFile) } : {}) },
  };
}

// Accuracy on labelled validation data (--val-data, else the data's own validation part when labelled); on unlabeled
// training data, fidelity to the teacher on the held-out part, and no labels fed.
function validation(
  data: Awaited<ReturnType<typeof loadTrainingData>>,
  teacher: string | undefined,
): Pick<RunOptions, 'val' | 'unlabeled' | 'fidelity'> {
  const val = data.valData ?? (data.labelled ? data.val : undefined);
  if (data.labelled) return val ? { val } : {};
  return {
    ...(val ? { val } : {}),
    unlabeled: true,
    ...(data.val && teacher ? { fidelity: { reference: teacher, split: data.val } } : {}),
  };
}

// What every stage of a staged run shares with the run, and what the config sets per stage.
function stageCommon(run: RunOptions, cfg: DistillOptions, where: (key: string[]) => string): StageCommon {
  const { networks: _n, terms: _t, exports, schedule: _s, outDir: _o, resume: _r, ...shared } = run;
  return {
    ...(cfg.stageOptimizer === 'run' ? { runOptimizer: true } : {}),
    ...shared,
    exports: { ...exports },
    // A stage with its own schedule and no lrUpdate gets that schedule's default granularity, else the run's.
    schedule: (s) =>
      parseSchedule(
        s.text ?? cfg.schedule!,
        s.lr ?? cfg.lr!,
        s.epochs ?? cfg.epochs!,
        s.warmup ?? cfg.warmup ?? 0,
        s.lrUpdate ?? (s.text !== undefined ? undefined : cfg.lrUpdate),
      ),
    ...(cfg.terms !== undefined
      ? { termWeights: typeof cfg.terms === 'string' ? parseTermWeights(cfg.terms) : cfg.terms }
      : {}),
    ...(cfg.stages !== undefined ? { stageConfig: cfg.stages } : {}),
    where,
  };
}

// --teacher-cache: `auto` keeps the cache beside the run folder (runs under one folder, a pipeline's jobs, share it).
// --mixup / --cutmix: the label terms must be linear in their targets (CE is; DKD's target mask is not), and the
// teacher cache cannot replay mixed images (it is bypassed, and the run says so).
function checkMixing(cfg: DistillOptions, terms: string[], c: { log(line: string): void }): void {
  if (!mixing(cfg)) return;
  const flag = (cfg.mixup ?? 0) > 0 ? '--mixup' : '--cutmix';
  if (terms.includes('dkd'))
    throw new UserError(
      `${flag}: dkd splits its loss by the target class, which mixed targets do not have; use kd (or no mixing) with dkd`,
    );
  if (cfg.teacherCache !== undefined && cfg.teacherCache !== 'off')
    c.log(
      `teacher cache: not used with ${flag} (the teacher sees each batch's mixed images, which no cached entry holds)`,
    );
}

function teacherCacheDir(given: string | undefined, outDir: string): { teacherCache?: string } {
  if (given === undefined || given === 'off') return {};
  return { teacherCache: given === 'auto' ? join(dirname(outDir), '.teacher-cache') : resolve(given) };
}

// --proxy (ifm): a zoo model built for the data, or a classifier file; the stage key names the zoo spec or the bytes.
function proxyModel(
  spec: string,
  input: [number, number, number],
  classes: number,
  seed: number,
): { model: Model; key: string } {
  const model = resolveModelSpec(spec, { input, classes, seed: seed + 1000 });
  const k = teacherIO(model).classes;
  if (k !== classes) throw new UserError(`--proxy ${spec} predicts ${k} classes but the data has ${classes}`);
  return {
    model,
    key: spec.startsWith('zoo:') ? `${spec}@${input.join('x')}/${classes}/${seed}` : sha256(resolve(spec)),
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

// `--student a --student b`, or `--students K` copies of one spec.
function expandStudents(cfg: DistillOptions): string[] {
  const list = Array.isArray(cfg.student) ? cfg.student : [cfg.student ?? 'zoo:cnn'];
  if (cfg.students === undefined) return list;
  if (list.length > 1)
    throw new UserError(
      `--students ${cfg.students} copies one --student spec, but ${list.length} were given (${list.join(', ')})`,
    );
  return Array.from({ length: cfg.students }, () => list[0]!);
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

// The normalisation a teacher this tool trained was fed (so the students see the same inputs).
function teacherPreprocess(
  m: Model,
): { mean?: number[]; std?: number[]; cropFraction?: number; resize?: number } | undefined {
  const text = m.metadata().get(META_PREPROCESS);
  if (!text) return undefined;
  try {
    const p = JSON.parse(text) as { mean?: number[]; std?: number[]; cropFraction?: number; resize?: number };
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

function parseShape(text: string): [number, number, number] {
  const d = text.toLowerCase().split('x').map(Number);
  if (d.length !== 3 || d.some((x) => !Number.isInteger(x) || x <= 0))
    throw new UserError(`--input: '${text}' is not a shape like 3x32x32`);
  return d as [number, number, number];
}

function numbers(text: string, option: string): number[] {
  const v = text.split(',').map((p) => Number(p.trim()));
  if (v.some((x) => !Number.isFinite(x)))
    throw new UserError(`${option}: '${text}' is not a comma-separated list of numbers`);
  return v;
}
