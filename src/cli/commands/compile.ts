import type { Argv } from 'yargs';
import { COMMON_OPTIONS, DISTILL_OPTIONS } from '../../config/options.js';
import { declareOptions } from '../../config/resolve.js';
import { compileDistill } from '../../pipeline/compileDistill.js';
import type { CommandDef } from '../command.js';
import { givenOptions } from './distill.js';

// `onnx-distill compile`: write the training artifacts of a distill run (step graph, eval graph, initial state,
// JSON contract) without training, for any onnxruntime in any language (or Netron); one folder per stage for a
// staged method (mgd+<base>, ifm).
export const command: CommandDef = {
  command: 'compile',
  describe:
    'write the training artifacts of a distill run (compiled step and eval graphs, initial state, JSON contract) without training',
  builder: (y: Argv) =>
    declareOptions(y, [
      ...DISTILL_OPTIONS.filter((o) => !['resume', 'saveArtifacts'].includes(o.key)),
      ...COMMON_OPTIONS,
    ]).option('config', {
      type: 'string',
      describe:
        "a YAML or JSON run config (keys as the options, camelCase; `stages:` sets a staged method's stages by name); flags override it",
    }),
  examples: [
    [
      '$0 compile --method kd --student zoo:cnn --out artifacts/',
      'the KD step of the shipped teacher and a plain CNN, ready for onnxruntime anywhere',
    ],
    [
      '$0 compile --method mgd+kd --out artifacts/',
      'a staged method: artifacts/stage1-heads/, artifacts/stage2-student/ and stages.json',
    ],
  ],
  run: async (a, ctx) => {
    const given = givenOptions(a);
    const dir = String(given.out ?? 'artifacts');
    const c = await compileDistill({ ...given, out: dir }, dir, ctx);
    if (ctx.json) ctx.print(JSON.stringify(c, null, 2));
    else if ('stages' in c) {
      for (const s of c.stages)
        ctx.print(
          `wrote ${dir}/${s.dir}/: ${s.contract.step.file}, ${s.contract.eval.file}, ${s.contract.initialState.file} and contract.json (trains ${s.trains.join(', ')}; ${s.contract.step.termWeights.length} terms)`,
        );
      ctx.print(`wrote ${dir}/stages.json (the stages in order, what each trains and hands on)`);
      ctx.print(`note: ${c.note}`);
    } else
      ctx.print(
        `wrote ${dir}/${c.step.file}, ${c.eval.file}, ${c.initialState.file} and contract.json (${c.step.termWeights.length} terms, ${c.initialState.names.length} state tensors)`,
      );
  },
};
