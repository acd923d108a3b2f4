import type { Argv } from 'yargs';
import { compressOptionTable } from '../../config/options.js';
import { declareOptions } from '../../config/resolve.js';
import { compress, resolveCompressConfig, type CompressOptions } from '../../pipeline/compress.js';
import { printConfig } from '../../pipeline/distillConfig.js';
import { UserError } from '../../util/errors.js';
import type { CommandDef } from '../command.js';
import { interruptedError } from '../exit.js';

// The parsed flags as config keys; the positional teacher is --teacher.
function givenOptions(a: Record<string, unknown>): CompressOptions & { config?: string } {
  const out: Record<string, unknown> = Object.fromEntries(
    compressOptionTable()
      .map((o) => o.key)
      .filter((k) => a[k] !== undefined)
      .map((k) => [k, a[k]]),
  );
  const teacher = [a.teacher]
    .flat()
    .filter((t) => t !== undefined)
    .map(String);
  if (new Set(teacher).size > 1)
    throw new UserError(`two teachers given (${teacher.join(' and ')}); give one, as the argument or as --teacher`);
  if (teacher.length) out.teacher = teacher[0];
  if (a.config !== undefined) out.config = String(a.config);
  return out as CompressOptions & { config?: string };
}

// `onnx-distill compress`: the whole job in one command, from a teacher to verified exports and a report.
export const command: CommandDef = {
  command: 'compress [teacher]',
  describe:
    'choose a student under a size budget, distil it from the teacher, export fp32/fp16/int8, evaluate everything and write a report',
  // The positional and --teacher are both arrays: otherwise yargs keeps the positional and silently drops the flag.
  builder: (y: Argv) =>
    declareOptions(y.positional('teacher', { type: 'string', array: true }), compressOptionTable())
      .option('teacher', {
        type: 'string',
        array: true,
        describe:
          'the teacher: an .onnx classifier or zoo:<name>, as the argument or as --teacher (zoo: teachers start untrained)',
      })
      .option('config', {
        type: 'string',
        describe: 'a YAML run config (keys as the options, camelCase); flags override it',
      })
      .option('print-config', {
        type: 'boolean',
        default: false,
        describe: 'print the resolved config as YAML and exit',
      }),
  examples: [
    [
      '$0 compress',
      'the shipped Fashion-MNIST teacher on the embedded data: a quarter-size student, fp32/fp16/int8 exports and runs/compress/report.md',
    ],
    [
      '$0 compress teacher.onnx --data photos/ --size 0.1',
      'your teacher and images, a student of at most a tenth of its parameters',
    ],
    [
      '$0 compress teacher.onnx --student zoo:resnet8 --method kd+at --epochs 30',
      'a student of your choice, any distill method and option',
    ],
    [
      '$0 compress teacher.onnx --students 2',
      'two students trained with KD and mutual learning (kdml), and their ensemble, all exported',
    ],
    [
      '$0 compress --formats fp32,int8 --calibration 1024 --calibrate entropy',
      'only fp32 and int8, calibrated on more images',
    ],
    [
      '$0 compress deployed.onnx --data photos/ --val-data labelled/',
      'a pile of unlabeled images: KD alone, exports compared with the teacher (agreement), accuracy on a labelled set',
    ],
  ],
  run: async (a, ctx) => {
    const given = givenOptions(a);
    if (a['print-config']) {
      ctx.print(printConfig(resolveCompressConfig(given)).trimEnd());
      return;
    }
    const r = await compress(given, ctx);
    if (r.interrupted) {
      ctx.log(`interrupted; resume with: onnx-distill compress --resume ${r.outDir}`);
      throw interruptedError();
    }
    if (ctx.json) {
      ctx.print(JSON.stringify(r.reportJson, null, 2));
      return;
    }
    ctx.print(r.report!.table);
    for (const s of r.skipped) ctx.print(`not exported: ${s.model} ${s.format} (failed verification; see report.json)`);
    ctx.print(
      `wrote ${[r.report!.markdown, r.report!.json, ...Object.values(r.report!.plots)].map((f) => f.replace(`${r.outDir}/`, '')).join(', ')} in ${r.outDir}`,
    );
  },
};
