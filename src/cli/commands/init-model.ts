import type { Argv } from 'yargs';
import { countParameters } from '../../analysis/params.js';
import { saveModel } from '../../ir/model.js';
import { UserError } from '../../util/errors.js';
import { buildZooModel, resolveModelSpec } from '../../zoo/index.js';
import { deriveStudent } from '../../models/student.js';
import type { CommandDef } from '../command.js';
import { grouped } from '../format.js';
import { parseDims, positive } from '../options.js';

// `onnx-distill init-model`: write an initialised student (zoo, or slimmed from a teacher) as an .onnx file.
export const command: CommandDef = {
  command: 'init-model <spec>',
  describe: 'write an initialised model: zoo:<name>, or slim:<ratio>[:l1|bn-gamma] of --teacher',
  builder: (y: Argv) =>
    y
      .positional('spec', { type: 'string', describe: 'zoo:<name> (see `onnx-distill models`) or slim:<ratio>' })
      .option('input', { type: 'string', default: '3x32x32', describe: 'image shape CxHxW (zoo models)' })
      .option('classes', { type: 'number', default: 10, describe: 'number of classes (zoo models)' })
      .option('seed', { type: 'number', default: 0, describe: 'weight initialisation seed' })
      .option('teacher', { type: 'string', describe: 'teacher .onnx or zoo:<name> that slim:<ratio> slims' })
      .option('out', { type: 'string', demandOption: true, describe: 'where to write the .onnx file' }),
  examples: [
    [
      '$0 init-model zoo:resnet8 --input 1x28x28 --classes 10 --seed 0 --out s.onnx',
      'a ResNet-8 for MNIST-sized images',
    ],
    [
      '$0 init-model slim:0.5 --teacher teacher.onnx --out student.onnx',
      'half the channels of each conv of the teacher',
    ],
  ],
  run: async (a, ctx) => {
    const spec = String(a.spec);
    const input = parseDims(String(a.input), '--input', [3]) as [number, number, number];
    const classes = positive(a.classes, '--classes', true);
    const seed = Number(a.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new UserError(`--seed: '${String(a.seed)}' must be a whole number >= 0`);
    let model;
    if (spec.startsWith('slim:')) {
      if (a.teacher === undefined)
        throw new UserError(`${spec} slims a teacher: give --teacher <model.onnx | zoo:name>`);
      model = deriveStudent(resolveModelSpec(String(a.teacher), { input, classes, seed }), spec);
    } else if (spec.startsWith('zoo:')) model = buildZooModel(spec.slice(4), { input, classes, seed });
    else throw new UserError(`init-model: '${spec}' is not zoo:<name> or slim:<ratio>`);
    const out = String(a.out);
    saveModel(model, out);
    const params = countParameters(model.graph).count;
    if (ctx.json) ctx.print(JSON.stringify({ spec, out, params, input, classes, seed }));
    else ctx.print(`wrote ${out}: ${spec}, ${grouped(params)} parameters`);
  },
};
