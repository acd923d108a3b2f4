import { graftHead } from '../models/graft.js';
import { UserError } from '../util/errors.js';
import type { RunTerm } from './types.js';
import { ceTerms, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// The knowledge bridge module's network name (role auxiliary in --json and run.json).
export const KBM = 'kbm';

// Semi-online KD (Liu, Liu & Huang, arXiv 2111.11747; methods.md §5): a frozen teacher, a knowledge bridge module
// grafted at the input of its last stage (fed by that tap behind a stop-gradient) and the student:
//   L_KBM = CE(z_A) + τ²·KL(σ_τ(sg z_T) ‖ σ_τ(z_A)) + τ²·KL(σ_τ(sg z_S) ‖ σ_τ(z_A))
//   L_S   = CE(z_S) + τ²·KL(σ_τ(sg z_A) ‖ σ_τ(z_S)),   τ 4, all weights 1, one step over both.
// The student never reads the teacher directly. With K > 1 students the KBM's student term is split 1/K each [ours].
export const method: MethodDef = {
  name: 'sokd',
  describe:
    'semi-online KD: a knowledge bridge module grafted onto the frozen teacher learns with the student (KD both ways, τ 4)',
  paper: 'arXiv 2111.11747',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'sokd');
    const tau = ctx.tau ?? 4;
    const kd = (name: string, student: string, teacher: string, weight = 1): RunTerm => ({
      term: 'kd',
      name,
      taps: { student: `${student}.logits`, teacher: `${teacher}.logits` },
      options: { tau },
      weight,
    });
    return [
      { term: 'ce', name: `ce.${KBM}`, taps: { logits: `${KBM}.logits` }, weight: 1 },
      kd(`kd.${KBM}<-${t}`, KBM, t),
      ...ctx.students.map((s) => kd(`kd.${KBM}<-${s}`, KBM, s, 1 / ctx.students.length)),
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => kd(termName('kd', s, ctx), s, KBM)),
    ];
  },
  networks: (env) => {
    const g = withOption(env.kbmTap, () =>
      graftHead(env.teacher, {
        ...(env.kbmTap ? { tap: env.kbmTap } : {}),
        init: env.kbmInit ?? 'random',
        seed: env.seed + 7919,
      }),
    );
    return {
      networks: [
        {
          name: KBM,
          model: g.model,
          role: 'auxiliary',
          trainable: true,
          input: { network: env.teacherName, tap: g.tap },
        },
      ],
      composed: { [KBM]: 'teacher-kbm.onnx' },
    };
  },
};

// A graft error for a tap the user named says it came from --kbm-tap.
function withOption<T>(tap: string | undefined, f: () => T): T {
  try {
    return f();
  } catch (err: unknown) {
    if (tap === undefined || !(err instanceof UserError)) throw err;
    throw new UserError(`--kbm-tap ${tap}: ${err.message}`, err.hint);
  }
}
