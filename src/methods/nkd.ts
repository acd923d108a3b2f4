import { ceAndTeacherTerm } from './_terms.js';
import type { MethodDef } from './types.js';

// NKD (arXiv 2303.13005) as yzd-v/cls_KD: CE + (−T_y·log S_y − 1.5·τ²·Σ_{c≠y} T̂ log Ŝ), τ 1.
export const method: MethodDef = {
  name: 'nkd',
  describe: 'normalized KD: CE + teacher-weighted target term + renormalised non-target KD (γ 1.5, τ 1)',
  paper: 'arXiv 2303.13005',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => ceAndTeacherTerm(ctx, 1, { term: 'nkd', options: { tau: ctx.tau ?? 1 }, weight: 1 }),
};
