import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import { mixing } from '../data/mix.js';
import { applyTermWeights, mixTerms, parseTermWeights, standardizeTerms, teacherMode } from '../methods/index.js';
import type { MethodContext, MethodDef, RunTerm } from '../methods/types.js';
import { UserError } from '../util/errors.js';
import type { DistillOptions } from './options.js';
import { featureTaps } from './taps.js';
import { planLabels } from './unlabeled.js';

// How the chosen methods become one run: the networks they train side by side (teacher, students, the modules a
// method adds) and the weighted terms of its loss, mixed from every method and adjusted by the flags.

// The run's networks: the teacher (when a method reads it), the students, then what each method adds on the teacher
// (SOKD's bridge); `composed` names the exports those added networks make with the students.
export function composeNetworks(
  cfg: DistillOptions,
  methods: MethodDef[],
  teacher: Model | undefined,
  students: NetworkSpec[],
): { networks: NetworkSpec[]; composed: Record<string, string> } {
  const mode = teacherMode(methods);
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
  return { networks, composed };
}

// The run's terms: each one-stage method's terms on the networks' taps, with --label-smoothing, --logit-standardize
// and --terms applied, then the label plan (weight-0 terms dropped; on unlabeled data, label terms dropped or fed the
// teacher's argmax). A staged method's terms are its stages' own, so only the checks apply to it.
export function distillTerms(
  cfg: DistillOptions,
  methods: MethodDef[],
  networks: NetworkSpec[],
  o: { students: string[]; labelled: boolean; trainSize: number; log: (line: string) => void },
): { terms: RunTerm[]; pseudoLabels?: string; teacher: string | undefined } {
  const { stages, blocks } = featureTaps(networks);
  const mctx: MethodContext = {
    teacher: networks.some((n) => n.role === 'teacher') ? 'teacher' : undefined,
    students: o.students,
    stages,
    blocks,
    trainSize: o.trainSize,
    ...(cfg.tau !== undefined ? { tau: cfg.tau } : {}),
  };
  const staged = methods.find((m) => m.stages);
  let terms = mixTerms(
    methods.filter((m) => !m.stages),
    mctx,
  ).map((t) =>
    t.term === 'ce' && cfg.labelSmoothing ? { ...t, options: { ...t.options, smoothing: cfg.labelSmoothing } } : t,
  );
  if (cfg.logitStandardize !== undefined && !staged) terms = standardizeTerms(terms, cfg.logitStandardize);
  if (cfg.terms !== undefined && !staged)
    terms = applyTermWeights(terms, typeof cfg.terms === 'string' ? parseTermWeights(cfg.terms) : cfg.terms);
  checkMixing(
    cfg,
    terms.map((t) => t.term),
    o.log,
  );
  if (staged) {
    if (cfg.pseudoLabels) throw new UserError(`--pseudo-labels: not available for the staged method ${staged.name}`);
    return { terms, teacher: mctx.teacher };
  }
  const labels = planLabels(terms, {
    labelled: o.labelled,
    pseudoLabels: !!cfg.pseudoLabels,
    teacher: mctx.teacher,
    method: cfg.method!,
    log: o.log,
  });
  return { ...labels, teacher: mctx.teacher };
}

// --mixup / --cutmix: the label terms must be linear in their targets (CE is; DKD's target mask is not), and the
// teacher cache cannot replay mixed images (it is bypassed, and the run says so).
function checkMixing(cfg: DistillOptions, terms: string[], log: (line: string) => void): void {
  if (!mixing(cfg)) return;
  const flag = (cfg.mixup ?? 0) > 0 ? '--mixup' : '--cutmix';
  if (terms.includes('dkd'))
    throw new UserError(
      `${flag}: dkd splits its loss by the target class, which mixed targets do not have; use kd (or no mixing) with dkd`,
    );
  if (cfg.teacherCache !== undefined && cfg.teacherCache !== 'off')
    log(
      `teacher cache: not used with ${flag} (the teacher sees each batch's mixed images, which no cached entry holds)`,
    );
}
