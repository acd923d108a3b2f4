// A staged method's stages as runs: each MethodStage becomes a StageSpec whose RunOptions share the run's data,
// schedule and devices, with the stage's own networks, terms, exports and optimizer defaults.
import type { MethodDef, MethodStage, StagedEnv } from '../methods/types.js';
import { applyTermWeights } from '../methods/index.js';
import type { RunOptions } from '../train/loop.js';
import type { ScheduleSpec } from '../train/schedule.js';
import type { StageSpec } from '../train/stages.js';
import { stageTaps } from './taps.js';

// The parts of a run every stage shares; `schedule` gives the run's schedule at a stage's learning rate.
export type StageCommon = Omit<RunOptions, 'networks' | 'terms' | 'exports' | 'outDir' | 'resume' | 'stage' | 'schedule'> & {
  schedule(lr?: number): ScheduleSpec;
  exports: Omit<RunOptions['exports'], 'files'>;
  // --terms, applied to the stage whose terms they name (the last one when several could).
  termWeights?: Record<string, number>;
  // --stage-optimizer run: every stage uses the run's --optimizer, --lr and --weight-decay instead of its method's.
  runOptimizer?: boolean;
};

// The stages of `def` on `env`, ready for runStages.
export function methodStages(def: MethodDef, env: StagedEnv, common: StageCommon): StageSpec[] {
  const plans = def.stages!(env);
  return plans.map((p, i) => stageSpec(p, env, common, i === plans.length - 1));
}

function stageSpec(p: MethodStage, env: StagedEnv, common: StageCommon, last: boolean): StageSpec {
  const { schedule, exports, termWeights, runOptimizer, ...shared } = common;
  const opt = runOptimizer ? undefined : p.optimizer;
  const hyper = opt?.weightDecay !== undefined ? { ...shared.hyper, weightDecay: opt.weightDecay } : shared.hyper;
  return {
    name: p.name,
    key: { stage: p.key, epochs: common.epochs, batch: common.batchSize, optimizer: opt ?? common.optimizer, hyper, schedule: schedule(opt?.lr), seed: common.seed },
    build: (trained) => {
      const networks = p.networks(trained);
      const students = networks.filter((n) => n.role === 'student').map((n) => n.name);
      let terms = p.terms({ teacher: 'teacher', students, stages: stageTaps(networks), ...(env.tau !== undefined ? { tau: env.tau } : {}) });
      if (last && termWeights) terms = applyTermWeights(terms, termWeights);
      return {
        ...shared, networks, terms, optimizer: opt?.name ?? common.optimizer, hyper, schedule: schedule(opt?.lr),
        exports: { ...exports, files: Object.fromEntries(p.exports.map((n) => [n, `${n}.onnx`])) },
        ...(students.length >= 2 && last ? { ensemble: students } : {}),
      };
    },
  };
}
