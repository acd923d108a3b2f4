import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import { constantsUpstreamOf } from '../models/graft.js';
import type { RunTerm } from './types.js';
import { UserError } from '../util/errors.js';
import { widenZooModel, zooBuildOf } from '../zoo/index.js';
import { ceTerms, termName } from './_terms.js';
import type { MethodContext, MethodDef, MethodStage, StagedEnv } from './types.js';

// §6(c): Adam at 1e-3 in every stage of pkth, no weight decay (torch's Adam default) [code].
const ADAM = { name: 'adam', lr: 1e-3, weightDecay: 0 };
// §6(b)-(c): intermediate layers 100·0.7^epoch, the final layer 1 [code]; CE 1 for classification [ours].
const W_INTERMEDIATE = 100;
const GAMMA = 0.7;

// Heterogeneous KD via information-flow modelling (Passalis, Tzelepi & Tefas, arXiv 2005.00727; methods.md §6).
// Each student gets a proxy ("auxiliary") teacher: its own architecture twice as wide (zoo students) or --proxy.
// Stage 1 (proxy-ce): the proxies learn CE. Stage 2 (proxy-match): each proxy's embedding matches the frozen
// teacher's under the combined kernel loss (ifm term, weight 1). Stage 3 (student): each student matches its frozen
// proxy's flow, L = CE + Σ_stages 100·0.7^epoch·ifm(f_i) + 1·ifm(embedding). Only the students are exported.
// The stage names, in order (a config file's `stages:` keys).
const STAGES = ['proxy-ce', 'proxy-match', 'student'] as const;

export const method: MethodDef = {
  name: 'ifm',
  describe:
    "information-flow KD: a 2×-wide proxy teacher learns CE, then the teacher's embedding; the student matches the proxy's flow over all layers (100·0.7^epoch, final 1)",
  paper: 'arXiv 2005.00727',
  teacher: 'frozen',
  minStudents: 1,
  terms: () => {
    throw new UserError('ifm is a staged method; its terms are declared per stage');
  },
  stages: (env) => {
    if (env.base.length)
      throw new UserError(
        `ifm is not mixed with other methods (got ifm+${env.base.map((m) => m.name).join('+')}); use --method ifm`,
      );
    const proxies = env.students.map((s, k) => proxyFor(env, s, k));
    return [proxyCeStage(env, proxies), proxyMatchStage(env, proxies), studentStage(env, proxies)];
  },
  stageNames: STAGES,
};

interface Proxy {
  name: string;
  student: string;
  model: Model;
  key: unknown;
}

// The proxy of student k: --proxy when given, else the student's zoo architecture widened, seeded apart from it.
function proxyFor(env: StagedEnv, s: NetworkSpec, k: number): Proxy {
  const name = env.students.length > 1 ? `proxy${k + 1}` : 'proxy';
  if (env.proxy) return { name, student: s.name, model: env.proxy.model, key: env.proxy.key };
  const seed = env.seed * 31 + 1000 + k;
  const model = widenZooModel(s.model, seed);
  if (!model) {
    const zoo = zooBuildOf(s.model);
    const what = zoo
      ? `zoo:${zoo.name} has no widened form in the zoo`
      : 'is not a zoo model (no onnx_distill.zoo metadata), so its layers cannot be widened';
    throw new UserError(
      `ifm: the student '${s.name}' ${what}; pass --proxy zoo:<name> or --proxy <file.onnx> for the proxy teacher (the student's architecture at twice the width, paired with it layer by layer)`,
    );
  }
  return { name, student: s.name, model, key: { widened: zooBuildOf(model), seed } };
}

function proxyCeStage(env: StagedEnv, proxies: Proxy[]): MethodStage {
  return {
    name: STAGES[0],
    key: { method: 'ifm', stage: 'proxy-ce', proxies: proxies.map((p) => p.key) },
    networks: () =>
      proxies.map((p): NetworkSpec => ({ name: p.name, model: p.model, role: 'auxiliary', trainable: true })),
    terms: () =>
      proxies.map((p): RunTerm => ({
        term: 'ce',
        name: `ce.${p.name}`,
        taps: { logits: `${p.name}.logits` },
        weight: 1,
      })),
    exports: proxies.map((p) => p.name),
    optimizer: ADAM,
  };
}

function proxyMatchStage(env: StagedEnv, proxies: Proxy[]): MethodStage {
  return {
    name: STAGES[1],
    key: { method: 'ifm', stage: 'proxy-match', proxies: proxies.map((p) => p.key) },
    networks: (trained) => [
      { name: 'teacher', model: env.teacher, role: 'teacher', trainable: false },
      ...proxies.map((p): NetworkSpec => {
        const model = handed(trained, p.name, 'proxy-ce');
        const body = constantsUpstreamOf(model, 'embedding');
        return { name: p.name, model, role: 'auxiliary', trainable: true, frozen: (name) => !body.has(name) };
      }),
    ],
    // §6(b): only the final representation, teacher embedding → proxy embedding, weight 1; no CE [code].
    terms: () =>
      proxies.map((p): RunTerm => ({
        term: 'ifm',
        name: `ifm.${p.name}`,
        taps: { student: `${p.name}.embedding`, teacher: 'teacher.embedding' },
        weight: 1,
      })),
    exports: proxies.map((p) => p.name),
    optimizer: ADAM,
  };
}

function studentStage(env: StagedEnv, proxies: Proxy[]): MethodStage {
  return {
    name: STAGES[2],
    key: { method: 'ifm', stage: 'student', proxies: proxies.map((p) => p.key) },
    networks: (trained) => [
      ...proxies.map((p): NetworkSpec => ({
        name: p.name,
        model: handed(trained, p.name, 'proxy-match'),
        role: 'auxiliary',
        trainable: false,
      })),
      ...env.students,
    ],
    terms: (ctx) => [...ceTerms(ctx, 1), ...proxies.flatMap((p) => flowTerms(ctx, p))],
    exports: env.students.map((s) => s.name),
    optimizer: ADAM,
  };
}

// The student's flow against its proxy's: every 4-D stage tap paired with the proxy's (from the end, as the two
// share a depth), then the embeddings.
function flowTerms(ctx: MethodContext, p: Proxy): RunTerm[] {
  const s = ctx.stages(p.student);
  const t = ctx.stages(p.name);
  const n = Math.min(s.length, t.length);
  const pairs = Array.from({ length: n }, (_, i) => [s[s.length - n + i]!, t[t.length - n + i]!] as const);
  return [
    ...pairs.map(([fs, ft]): RunTerm => ({
      term: 'ifm',
      name: termName(`ifm.${fs}`, p.student, ctx),
      taps: { student: `${p.student}.${fs}`, teacher: `${p.name}.${ft}` },
      weight: W_INTERMEDIATE,
      schedule: { kind: 'exp', gamma: GAMMA },
    })),
    {
      term: 'ifm',
      name: termName('ifm.embedding', p.student, ctx),
      taps: { student: `${p.student}.embedding`, teacher: `${p.name}.embedding` },
      weight: 1,
    },
  ];
}

function handed(trained: Record<string, Model>, name: string, stage: string): Model {
  const m = trained[name];
  if (!m) throw new Error(`ifm: stage '${stage}' did not hand over '${name}'`);
  return m;
}
