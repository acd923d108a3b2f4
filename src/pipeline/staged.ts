// A staged method's stages as runs: each MethodStage becomes a StageSpec whose RunOptions share the run's data,
// schedule and devices, with the stage's own networks, terms, exports and optimizer defaults, and what the run's
// `stages:` config sets for it.
import { join } from 'node:path';
import type { StageConfig } from '../config/options.js';
import type { Model } from '../ir/model.js';
import type { MethodDef, MethodStage, StagedEnv } from '../methods/types.js';
import { applyTermWeights, parseTermWeights, standardizeTerms } from '../methods/index.js';
import type { RunOptions } from '../train/loop.js';
import type { ScheduleSpec } from '../train/schedule.js';
import type { StageSpec } from '../train/stages.js';
import { UserError } from '../util/errors.js';
import { featureTaps } from './taps.js';

// What a stage's schedule is built from; unset fields are the run's (--schedule, --lr, --epochs, --warmup).
export interface StageSchedule {
  text?: string;
  lr?: number;
  epochs?: number;
  warmup?: number;
  lrUpdate?: 'step' | 'epoch';
}

// The parts of a run every stage shares; `schedule` gives the run's schedule with a stage's settings.
export type StageCommon = Omit<
  RunOptions,
  'networks' | 'terms' | 'exports' | 'outDir' | 'resume' | 'stage' | 'schedule'
> & {
  schedule(s: StageSchedule): ScheduleSpec;
  exports: Omit<RunOptions['exports'], 'files'>;
  // --terms, applied to the stage whose terms they name (the last one when several could).
  termWeights?: Record<string, number>;
  // --stage-optimizer run: every stage uses the run's --optimizer, --lr and --weight-decay instead of its method's.
  runOptimizer?: boolean;
  // The `stages:` config by stage name, and where a key of it was given (`run.yaml:7: 'stages.heads.lr'`) for errors.
  stageConfig?: Record<string, StageConfig>;
  where?: (key: string[]) => string;
};

// The stages of `def` on `env`, ready for runStages; every stage is built once on untrained stand-ins first, so a
// bad `stages:` entry or --terms key fails before the first stage trains.
export function methodStages(def: MethodDef, env: StagedEnv, common: StageCommon): StageSpec[] {
  const plans = def.stages!(env);
  const where = common.where ?? ((key: string[]) => `'${key.join('.')}'`);
  const config = common.stageConfig ?? {};
  checkStageNames(
    def.name,
    plans.map((p) => p.name),
    config,
    where,
  );
  const data = common.train.identity?.() ?? null;
  const specs = plans.map((p, i) =>
    stageSpec(p, common, {
      index: i,
      last: i === plans.length - 1,
      entry: config[p.name],
      where,
      data,
      ...(env.tau !== undefined ? { tau: env.tau } : {}),
      ...(env.logitStandardize !== undefined ? { logitStandardize: env.logitStandardize } : {}),
    }),
  );
  dryBuild(specs);
  return specs;
}

// Every stage `stages:` names must be one of the method's.
export function checkStageNames(
  method: string,
  names: readonly string[],
  config: Record<string, StageConfig>,
  where: (key: string[]) => string,
): void {
  for (const name of Object.keys(config)) {
    if (!names.includes(name))
      throw new UserError(
        `${where(['stages', name])}: ${method} has no stage '${name}'; its stages are ${names.join(', ')}`,
      );
  }
}

// Build every stage in order, each on the untrained models the earlier stages would hand over: the same
// architectures, so the same taps and terms (compile writes these; the plan check uses them).
export function dryBuild(specs: StageSpec[]): ReturnType<StageSpec['build']>[] {
  const handed: Record<string, Model> = {};
  return specs.map((s) => {
    const run = s.build(handed);
    for (const n of Object.keys(run.exports.files)) handed[n] = run.networks.find((x) => x.name === n)!.model;
    return run;
  });
}

interface Place {
  index: number;
  last: boolean;
  entry: StageConfig | undefined;
  where: (key: string[]) => string;
  data: string | null;
  tau?: number;
  logitStandardize?: string;
}

function stageSpec(p: MethodStage, common: StageCommon, at: Place): StageSpec {
  const { schedule, exports, termWeights, runOptimizer, stageConfig: _c, where: _w, ...shared } = common;
  const e = at.entry ?? {};
  const key = (k: string) => ['stages', p.name, k];
  // Each key of the entry overrides that setting; the rest keep the stage's default (method's or run's).
  const method = runOptimizer ? undefined : p.optimizer;
  const optimizer = e.optimizer ?? method?.name ?? common.optimizer;
  const epochs = e.epochs ?? common.epochs;
  const weightDecay = e.weightDecay ?? method?.weightDecay;
  const hyper = {
    ...shared.hyper,
    ...(weightDecay !== undefined ? { weightDecay } : {}),
    ...(e.momentum !== undefined ? { momentum: e.momentum } : {}),
    ...(e.nesterov !== undefined ? { nesterov: e.nesterov } : {}),
  };
  const lr = e.lr ?? method?.lr;
  const sched = rethrowAt(at.where(key('schedule')), e.schedule !== undefined, () =>
    schedule({
      ...(e.schedule !== undefined ? { text: e.schedule } : {}),
      ...(lr !== undefined ? { lr } : {}),
      epochs,
      ...(e.warmup !== undefined ? { warmup: e.warmup } : {}),
      ...(e.lrUpdate !== undefined ? { lrUpdate: e.lrUpdate } : {}),
    }),
  );
  const own =
    e.terms === undefined
      ? undefined
      : rethrowAt(at.where(key('terms')), true, () =>
          typeof e.terms === 'string' ? parseTermWeights(e.terms) : (e.terms as Record<string, number>),
        );
  return {
    name: p.name,
    // Everything that changes what the stage trains, beside the teacher's bytes (stages.ts hashes it).
    summary: `${epochs} epoch${epochs === 1 ? '' : 's'}, ${optimizer} lr ${sched.lr} ${sched.kind}${optimizer === 'sgd' ? ` momentum ${hyper.momentum}${hyper.nesterov ? ' nesterov' : ''}` : ''}, weight decay ${hyper.weightDecay}`,
    key: {
      stage: p.key,
      epochs,
      batch: common.batchSize,
      optimizer,
      hyper,
      schedule: sched,
      seed: common.seed,
      terms: own ?? null,
      data: at.data,
      ...(at.logitStandardize !== undefined ? { logitStandardize: at.logitStandardize } : {}),
    },
    build: (trained) => {
      const networks = p.networks(trained);
      const students = networks.filter((n) => n.role === 'student').map((n) => n.name);
      let terms = p.terms({
        teacher: 'teacher',
        students,
        ...featureTaps(networks),
        ...(at.tau !== undefined ? { tau: at.tau } : {}),
      });
      // Each stage takes the keys that select its terms (a stage without KL terms, such as MGD's heads, takes none).
      if (at.logitStandardize !== undefined) terms = standardizeTerms(terms, at.logitStandardize, false);
      if (at.last && termWeights) terms = applyTermWeights(terms, termWeights);
      if (own) terms = rethrowAt(at.where(key('terms')), true, () => applyTermWeights(terms, own));
      return {
        ...shared,
        networks,
        terms,
        optimizer,
        hyper,
        epochs,
        schedule: sched,
        exports: { ...exports, files: Object.fromEntries(p.exports.map((n) => [n, `${n}.onnx`])) },
        ...(students.length >= 2 && at.last ? { ensemble: students } : {}),
        ...(shared.saveArtifacts ? { saveArtifacts: join(shared.saveArtifacts, stageFolder(at.index, p.name)) } : {}),
      };
    },
  };
}

// The folder of stage i's artifacts under --save-artifacts (and `compile --out`).
export function stageFolder(index: number, name: string): string {
  return `stage${index + 1}-${name}`;
}

// Run `f`; a UserError it throws about a flag (`--terms: …`, `--schedule: …`) is re-raised naming the config key.
function rethrowAt<T>(where: string, fromConfig: boolean, f: () => T): T {
  try {
    return f();
  } catch (err: unknown) {
    if (!fromConfig || !(err instanceof UserError)) throw err;
    throw new UserError(`${where}: ${err.message.replace(/^--(terms|schedule): /, '')}`, err.hint);
  }
}
