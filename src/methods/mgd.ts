import type { NetworkSpec } from '../compiler/network.js';
import { tapShape } from '../models/graft.js';
import { granularityHead } from '../models/heads.js';
import type { RunTerm } from './types.js';
import { UserError } from '../util/errors.js';
import { termName } from './_terms.js';
import type { MethodDef, MethodStage, StagedEnv } from './types.js';

// The two granularities of the reference code: a 64-d code at τ 2 and a 256-d code at τ 8 (methods.md §4(b)).
export const GRANULARITIES = [
  { name: 'head64', dim: 64, tau: 2 },
  { name: 'head256', dim: 256, tau: 8 },
] as const;

// §4(b) weights of the base method under MGD: w_ce, w_div (KD at τ 4); the base term keeps its preset weight.
const BASE_WEIGHTS: Record<string, { ce: number; kd: number }> = {
  kd: { ce: 0.2, kd: 0.8 },
  fitnet: { ce: 1, kd: 1 },
  at: { ce: 1, kd: 1 },
  sp: { ce: 1, kd: 1 },
};

// Multi-granularity distillation (Shao & Chen, arXiv 2108.06681; methods.md §4), mixed with a base: `mgd+kd`.
// Stage 1 (heads): two encoder/decoder heads on the frozen teacher's embedding learn CE + τ²·KL to the teacher's
// logits (64-d code τ 2, 256-d code τ 8). Stage 2 (student): the base method with its §4(b) weights plus, per
// granularity, τ²·KL(σ_τ(sg E^T(h^T)) ‖ σ_τ(E^S(h^S))) through the student's own encoders (weight 1). MAS
// (--mgd-variant mas) distils towards the mean of the teacher's three logit heads. Student decoders are not built.
// The stage names, in order (a config file's `stages:` keys).
const STAGES = ['heads', 'student'] as const;

export const method: MethodDef = {
  name: 'mgd',
  describe:
    'multi-granularity distillation on top of a base method (mgd+kd|fitnet|at|sp): teacher heads in stage 1, the student in stage 2',
  paper: 'arXiv 2108.06681',
  teacher: 'frozen',
  minStudents: 1,
  terms: () => {
    throw new UserError('mgd is a staged method; mix it with one base method: mgd+kd, mgd+fitnet, mgd+at or mgd+sp');
  },
  stages: (env) => [headsStage(env), studentStage(env)],
  stageNames: STAGES,
};

function headsStage(env: StagedEnv): MethodStage {
  const [d] = tapShape(env.teacher, 'embedding');
  if (!d)
    throw new UserError(
      'mgd: the teacher has no [N, D] embedding (the classifier input) to attach the granularity heads to',
    );
  const classes = tapShape(env.teacher, 'logits')[0]!;
  return {
    name: STAGES[0],
    key: { method: 'mgd', stage: 'heads', heads: GRANULARITIES, seed: env.seed },
    networks: () => [
      { name: 'teacher', model: env.teacher, role: 'teacher', trainable: false },
      ...GRANULARITIES.map((g, i): NetworkSpec => ({
        name: g.name,
        model: granularityHead({ inDim: d, codeDim: g.dim, classes, seed: env.seed * 31 + i + 1 }),
        role: 'auxiliary',
        trainable: true,
        input: { network: 'teacher', tap: 'embedding' },
      })),
    ],
    terms: () =>
      GRANULARITIES.flatMap((g): RunTerm[] => [
        { term: 'ce', name: `ce.${g.name}`, taps: { logits: `${g.name}.logits` }, weight: 1 },
        {
          term: 'kd',
          name: `kd.${g.name}`,
          taps: { student: `${g.name}.logits`, teacher: 'teacher.logits' },
          options: { tau: g.tau },
          weight: 1,
        },
      ]),
    exports: GRANULARITIES.map((g) => g.name),
    // §4(c): SGD lr 0.01 for the heads (the run's schedule shape and epochs) [code, schedule ours].
    optimizer: { name: 'sgd', lr: 0.01 },
  };
}

function studentStage(env: StagedEnv): MethodStage {
  const base = env.base.map((m) => m.name);
  if (base.length !== 1 || !BASE_WEIGHTS[base[0]!])
    throw new UserError(
      `mgd needs exactly one base method out of kd, fitnet, at, sp (e.g. mgd+kd); got ${base.join('+') || 'none'}`,
    );
  const w = BASE_WEIGHTS[base[0]!]!;
  const mas = env.mgdVariant === 'mas';
  return {
    name: STAGES[1],
    key: { method: 'mgd', base, variant: env.mgdVariant ?? 'mag' },
    networks: (trained) => [
      { name: 'teacher', model: env.teacher, role: 'teacher', trainable: false },
      ...GRANULARITIES.map((g): NetworkSpec => {
        const model = trained[g.name];
        if (!model) throw new Error(`mgd: stage 'heads' did not hand over '${g.name}'`);
        return {
          name: g.name,
          model,
          role: 'auxiliary',
          trainable: false,
          input: { network: 'teacher', tap: 'embedding' },
        };
      }),
      ...env.students,
    ],
    terms: (ctx) => {
      // The base preset's terms (methods/index.ts would be an import cycle: it loads this folder).
      const terms = env.base.flatMap((m) => m.terms(ctx)).filter((t) => t.term !== 'kd');
      const kd = ctx.students.map((s): RunTerm => ({
        term: mas ? 'kdavg' : 'kd',
        name: termName('kd', s, ctx),
        options: { tau: ctx.tau ?? 4 },
        weight: w.kd,
        taps: {
          student: `${s}.logits`,
          teacher: 'teacher.logits',
          ...(mas ? { head1: 'head64.logits', head2: 'head256.logits' } : {}),
        },
      }));
      const gkd = ctx.students.flatMap((s) =>
        GRANULARITIES.map((g): RunTerm => ({
          term: 'gkd',
          name: termName(`gkd${g.dim}`, s, ctx),
          taps: { student: `${s}.embedding`, teacher: `${g.name}.code` },
          options: { tau: g.tau },
          weight: 1,
        })),
      );
      return [...terms.map((t) => (t.term === 'ce' ? { ...t, weight: w.ce } : t)), ...kd, ...gkd];
    },
    exports: env.students.map((s) => s.name),
  };
}
