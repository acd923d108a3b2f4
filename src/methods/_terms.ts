import type { RunTerm } from './types.js';
import type { MethodContext } from './types.js';

// Shared pieces of the presets: a term use with a name that stays readable with one or several students.

// `ce` for one student, `ce.student2` for several.
export function termName(base: string, student: string, ctx: MethodContext): string {
  return ctx.students.length > 1 ? `${base}.${student}` : base;
}

// Cross-entropy with the labels for each student.
export function ceTerms(ctx: MethodContext, weight: number): RunTerm[] {
  return ctx.students.map((s) => ({
    term: 'ce',
    name: termName('ce', s, ctx),
    taps: { logits: `${s}.logits` },
    weight,
  }));
}

// The teacher a method needs, or a clear error (the pipeline always supplies one when the method asks).
export function teacherOf(ctx: MethodContext, method: string): string {
  if (!ctx.teacher) throw new Error(`method '${method}' needs a teacher network`);
  return ctx.teacher;
}

// A feature term on pairs of stage taps of the student and the teacher (the last `count`, paired from the end).
export function stagePairs(ctx: MethodContext, student: string, teacher: string, count: number): [string, string][] {
  const s = ctx.stages(student);
  const t = ctx.stages(teacher);
  const n = Math.min(count, s.length, t.length);
  return Array.from({ length: n }, (_, i) => [s[s.length - n + i]!, t[t.length - n + i]!]);
}

// Why a network offers no 4-D stage map to a term that needs one (a transformer's blocks are token maps).
export function noStagesReason(ctx: MethodContext, network: string): string {
  const blocks = ctx.blocks?.(network) ?? [];
  return blocks.length
    ? `'${network}' is a transformer: it has no [N, C, H, W] stage maps, its blocks ${blocks[0]}..${blocks[blocks.length - 1]} are token maps [N, T, D]`
    : `'${network}' has no 4-D stage taps`;
}

// The last feature map of a network for a term defined on any feature layout (SP): its last stage, else its last block.
export function lastFeature(ctx: MethodContext, network: string): string | undefined {
  const s = ctx.stages(network);
  const b = ctx.blocks?.(network) ?? [];
  return s[s.length - 1] ?? b[b.length - 1];
}

// The middle stage (FitNets' hint layer: f2 of a three-stage CIFAR ResNet).
export function middleStage(stages: string[]): string | undefined {
  return stages[Math.floor((stages.length - 1) / 2)];
}

// CE for each student plus one distillation term per student against the frozen teacher on the same tap of both
// (the shape of every single-term preset: KD, DKD, DIST, NKD, WSLD, CTKD on logits, PKT on embeddings).
export function ceAndTeacherTerm(
  ctx: MethodContext,
  ceWeight: number,
  use: Omit<RunTerm, 'name' | 'taps'> & { tap?: 'logits' | 'embedding' },
): RunTerm[] {
  const t = teacherOf(ctx, use.term);
  const { tap = 'logits', term, ...rest } = use;
  return [
    ...ceTerms(ctx, ceWeight),
    ...ctx.students.map((s) => ({
      term,
      name: termName(term, s, ctx),
      taps: { student: `${s}.${tap}`, teacher: `${t}.${tap}` },
      ...rest,
    })),
  ];
}
