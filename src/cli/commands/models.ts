import type { Argv } from 'yargs';
import { countMacs } from '../../analysis/macs.js';
import { countParameters } from '../../analysis/params.js';
import { inferShapes } from '../../ir/passes/shapes.js';
import { buildZooModel, ZOO } from '../../zoo/index.js';
import type { CommandDef } from '../command.js';
import { grouped, si, table } from '../format.js';
import { parseDims, positive } from '../options.js';

// One zoo row: what a student costs at the user's image size and class count.
interface ZooRow {
  name: string;
  family: string;
  params: number;
  macs: number;
  describe: string;
  reference: string;
}

// Build each zoo model for the input and count parameters and per-image MACs.
function zooRows(input: [number, number, number], classes: number): ZooRow[] {
  return [...ZOO.values()].map((e) => {
    const m = buildZooModel(e.name, { input, classes });
    inferShapes(m.graph, { inputShapes: { input: [1, ...input] } });
    return {
      name: e.name,
      family: e.family,
      params: countParameters(m.graph).count,
      macs: countMacs(m.graph).total,
      describe: e.describe,
      reference: e.reference,
    };
  });
}

// `onnx-distill models`: the built-in students, with their size and compute at your input size.
export const command: CommandDef = {
  command: 'models',
  describe: 'list the model zoo (students built as ONNX) with parameters and MACs at an input size',
  builder: (y: Argv) =>
    y
      .option('input', { type: 'string', default: '3x32x32', describe: 'image shape CxHxW the models are built for' })
      .option('classes', { type: 'number', default: 100, describe: 'number of classes' }),
  examples: [
    ['$0 models', 'the zoo at CIFAR-100 size (3x32x32, 100 classes)'],
    ['$0 models --input 1x28x28 --classes 10 --json', 'at MNIST size, as JSON'],
  ],
  run: async (a, ctx) => {
    const input = parseDims(String(a.input), '--input', [3]) as [number, number, number];
    const classes = positive(a.classes, '--classes', true);
    const rows = zooRows(input, classes);
    if (ctx.json) {
      ctx.print(JSON.stringify({ input, classes, models: rows }, null, 2));
      return;
    }
    ctx.print(`model zoo at input ${input.join('x')}, ${classes} classes (use as zoo:<name>; MACs per image)`);
    const body = rows.map((r) => [r.name, r.family, grouped(r.params), si(r.macs), r.describe]);
    for (const line of table([['name', 'family', 'params', 'MACs', 'description'], ...body])) ctx.print(line);
  },
};
