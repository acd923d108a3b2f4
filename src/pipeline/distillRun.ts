import { dirname, join, resolve } from 'node:path';
import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import { parseTermWeights } from '../methods/index.js';
import type { MethodDef, RunTerm } from '../methods/types.js';
import type { RunOptions } from '../train/loop.js';
import type { ExportSpec } from '../train/types.js';
import { parseSchedule } from '../train/schedule.js';
import type { StageSpec } from '../train/stages.js';
import type { KeyLocator } from './distillConfig.js';
import type { TrainingData } from './data.js';
import { proxyModel } from './distillModels.js';
import type { DistillOptions } from './options.js';
import { methodStages, type StageCommon } from './staged.js';

// The glue between a resolved distill config and the training loop: the RunOptions of a one-stage run, and for a
// staged method the stages built on them (each sharing the run's data, devices and exports).

// What the run trains and exports, decided by the steps before (networks, terms, exports' names and metadata).
export interface RunParts {
  networks: NetworkSpec[];
  terms: RunTerm[];
  pseudoLabels?: string;
  // The network the unlabeled run's fidelity is measured against.
  teacher: string | undefined;
  students: NetworkSpec[];
  files: Record<string, string>;
  metadata: Record<string, string>;
  composed: Record<string, string>;
  outDir: string;
  runId: string | undefined;
  // Metadata for one network's exported file only, from its trained state (the QAT record goes in the student's,
  // pipeline/qat.ts).
  networkMetadata?: ExportSpec['networkMetadata'];
}

// The loop's options for the run: data, schedule, optimizer, exports and where it writes, from the config.
export function distillRunOptions(
  cfg: DistillOptions,
  data: TrainingData,
  p: RunParts,
  c: { json: boolean; log: (line: string) => void },
): RunOptions {
  return {
    networks: p.networks,
    terms: p.terms,
    train: data.train,
    classes: data.classes,
    epochs: cfg.epochs!,
    batchSize: cfg.batchSize!,
    ...validation(data, p.teacher),
    ...(p.pseudoLabels ? { pseudoLabels: p.pseudoLabels } : {}),
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
    ...(p.students.length >= 2 ? { ensemble: p.students.map((s) => s.name) } : {}),
    exports: {
      files: p.files,
      preprocess: data.preprocess,
      metadata: p.metadata,
      ensembleFile: 'ensemble.onnx',
      composed: p.composed,
      ...(p.networkMetadata ? { networkMetadata: p.networkMetadata } : {}),
    },
    device: cfg.device!,
    ...(cfg.threads ? { threads: cfg.threads } : {}),
    seed: cfg.seed!,
    outDir: p.outDir,
    resume: cfg.resume !== undefined,
    config: { command: 'distill', ...cfg, out: p.outDir, augmentation: data.augmentation },
    log: c.log,
    progress: !c.json,
    ...(cfg.bnRecalibrate ? { bnRecalibrate: cfg.bnRecalibrate } : {}),
    ...(p.runId ? { runId: p.runId } : {}),
    ...(cfg.saveArtifacts ? { saveArtifacts: resolve(cfg.saveArtifacts) } : {}),
    ...teacherCacheDir(cfg.teacherCache, p.outDir),
  };
}

// A staged method's stages on the run: its own networks and terms per stage, the rest shared with `run`.
export function distillStages(
  cfg: DistillOptions,
  staged: MethodDef,
  o: { methods: MethodDef[]; teacher: Model; students: NetworkSpec[]; data: TrainingData; run: RunOptions },
  where: KeyLocator,
): StageSpec[] {
  return methodStages(
    staged,
    {
      teacher: o.teacher,
      students: o.students,
      base: o.methods.filter((m) => m !== staged),
      seed: cfg.seed!,
      ...(cfg.tau !== undefined ? { tau: cfg.tau } : {}),
      ...(cfg.mgdVariant ? { mgdVariant: cfg.mgdVariant } : {}),
      ...(cfg.logitStandardize !== undefined ? { logitStandardize: cfg.logitStandardize } : {}),
      ...(cfg.proxy
        ? { proxy: proxyModel(cfg.proxy, { input: o.data.input, classes: o.data.classes.length }, cfg.seed!) }
        : {}),
    },
    stageCommon(o.run, cfg, where),
  );
}

// Accuracy on labelled validation data (--val-data, else the data's own validation part when labelled); on unlabeled
// training data, fidelity to the teacher on the held-out part, and no labels fed.
function validation(
  data: TrainingData,
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
function stageCommon(run: RunOptions, cfg: DistillOptions, where: KeyLocator): StageCommon {
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
function teacherCacheDir(given: string | undefined, outDir: string): { teacherCache?: string } {
  if (given === undefined || given === 'off') return {};
  return { teacherCache: given === 'auto' ? join(dirname(outDir), '.teacher-cache') : resolve(given) };
}
