import { UserError } from '../util/errors.js';
import { ceTerms, middleStage, noStagesReason, teacherOf, termName } from './_terms.js';
import type { MethodDef } from './types.js';

// FitNets hints (arXiv 1412.6550) as RepDistiller runs them: CE + 100·mse(ConvReg(f_s), sg f_t) at the middle stage
// (hint layer 2: f2 of a CIFAR ResNet), the regressor trained with the student in one stage.
export const method: MethodDef = {
  name: 'fitnet',
  describe: "FitNets hints: CE + 100·MSE between a regressed student feature map and the teacher's (middle stage)",
  paper: 'arXiv 1412.6550',
  teacher: 'frozen',
  minStudents: 1,
  terms: (ctx) => {
    const t = teacherOf(ctx, 'fitnet');
    const ts = middleStage(ctx.stages(t));
    return [
      ...ceTerms(ctx, 1),
      ...ctx.students.map((s) => {
        const ss = middleStage(ctx.stages(s));
        if (!ss || !ts) {
          throw new UserError(
            `fitnet needs 4-D stage taps on both networks: ${noStagesReason(ctx, ss ? t : s)}`,
            "FitNets regresses a student map onto the teacher's with a convolution; for a transformer use kd, dkd, sp or pkt",
          );
        }
        return {
          term: 'fitnet',
          name: termName('fitnet', s, ctx),
          taps: { student: `${s}.${ss}`, teacher: `${t}.${ts}` },
          weight: 100,
        };
      }),
    ];
  },
};
