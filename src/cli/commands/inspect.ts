import type { Argv } from 'yargs';
import { defaultInputShape, summarizeModel, type ModelSummary } from '../../analysis/summary.js';
import type { Model } from '../../ir/model.js';
import { loadModel, serializeModel } from '../../ir/model.js';
import { allTaps } from '../../models/taps.js';
import { probeLoad, type LoadVerdict } from '../../runtime/probe.js';
import { UserError } from '../../util/errors.js';
import { resolveModelSpec } from '../../zoo/index.js';
import type { CommandDef } from '../command.js';
import { bytes, grouped, shapeText, si, table } from '../format.js';
import { parseInputShape } from '../inputShape.js';

// Zoo models are built for an image size and class count; inspect defaults to CIFAR's 3x32x32 and 10 classes.
function openModel(spec: string, shapeArg: string | undefined, classes: number): Model {
  if (!spec.startsWith('zoo:')) {
    if (spec.includes(':') && !/^[A-Za-z]:[\\/]/.test(spec))
      throw new UserError(`unknown model spec '${spec}'; expected zoo:<name> or a path to an .onnx file`);
    return loadModel(spec);
  }
  const dims = shapeArg ? shapeArg.trim().toLowerCase().split('x').map(Number) : [1, 3, 32, 32];
  if (dims.length !== 4 || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new UserError(
      `--input-shape: '${shapeArg}' is not an image batch shape like 1x3x32x32 (zoo models take NxCxHxW)`,
    );
  }
  return resolveModelSpec(spec, { input: [dims[1]!, dims[2]!, dims[3]!], classes });
}

function tapLines(s: ModelSummary): string[] {
  if ('error' in s.taps) return [`  not found: ${s.taps.error}`];
  const t = s.taps;
  const views = {
    'nhwc-to-nchw': ' (channels last in the graph: transposed in the tap)',
    'global-pool': " (a conv classifier's input map: pooled in the tap)",
  };
  const rows = allTaps(t).map((x) => [
    x.name,
    x.layout.toUpperCase().replace('VECTOR', 'N,D').replace('TOKENS', 'N,T,D'),
    shapeText(x.shape),
    `${x.value}${x.view ? views[x.view] : ''}`,
  ]);
  const how =
    t.source === 'metadata'
      ? 'recorded by the zoo in the model metadata'
      : 'found automatically: last value at each resolution on the main path';
  return [...table(rows), `  (${how}; f0 is the stem${t.blocks ? ', b1.. are transformer blocks (token maps)' : ''})`];
}

// The human report: one section per question a user asks before distilling a model.
function render(spec: string, s: ModelSummary, ort: LoadVerdict): string[] {
  const io = (l: ModelSummary['inputs']) =>
    table(l.map((v) => [v.name, v.dtype, shapeText(v.shape), `-> ${shapeText(v.inferred)}`]));
  const diff = s.differentiable;
  return [
    `${spec}  (graph '${s.graph}', opset ${s.opset}${s.producer ? `, from ${s.producer}` : ''}), analysed at input ${s.inputShape.join('x')}`,
    'inputs:',
    ...io(s.inputs),
    'outputs:',
    ...io(s.outputs),
    `ops (${s.nodes} nodes):`,
    ...table(Object.entries(s.ops).map(([k, v]) => [k, String(v)])),
    `parameters: ${grouped(s.parameters.count)} (${bytes(s.parameters.bytes)} in ${s.parameters.tensors} tensors)` +
      (s.parameters.buffers ? `; BatchNorm running stats: ${grouped(s.parameters.buffers)} more values` : ''),
    `MACs: ${si(s.macs.total)} (${grouped(s.macs.total)})`,
    ...table(
      Object.entries(s.macs.byOpType).map(([k, v]) => [k, si(v), `${((100 * v) / (s.macs.total || 1)).toFixed(1)}%`]),
    ),
    ...(s.macs.unknown.length ? [`  not counted (unknown shapes): ${s.macs.unknown.join(', ')}`] : []),
    'taps:',
    ...tapLines(s),
    diff.supported
      ? 'differentiable: yes, every op on the gradient path has a gradient rule'
      : 'differentiable: no, these ops lack a gradient rule:',
    ...diff.unsupported.map(
      (u) =>
        `  ${u.opType}: ${u.nodes.slice(0, 5).join(', ')}${u.nodes.length > 5 ? `, ... (${u.nodes.length} nodes)` : ''}`,
    ),
    ort.loads ? 'onnxruntime: loads the model' : `onnxruntime: cannot load the model: ${ort.reason}`,
  ];
}

// `onnx-distill inspect`: what a model is before you distil it (shapes, size, compute, taps, trainability).
export const command: CommandDef = {
  command: 'inspect <model>',
  describe: "show a model's inputs/outputs, ops, parameters, MACs, taps and whether it can be trained",
  builder: (y: Argv) =>
    y
      .positional('model', { type: 'string', describe: 'an .onnx file or zoo:<name> (see `onnx-distill models`)' })
      .option('input-shape', {
        type: 'string',
        describe: "input shape NxCxHxW to analyse at (default: the model's own, dynamic dims = 1; zoo: 1x3x32x32)",
      })
      .option('classes', { type: 'number', default: 10, describe: 'class count to build a zoo model with' }),
  examples: [
    ['$0 inspect teacher.onnx', 'report shapes, parameters, MACs, taps and differentiability'],
    ['$0 inspect teacher.onnx --input-shape 8x3x160x160', 'analyse at another batch size and resolution'],
    ['$0 inspect zoo:resnet8 --input-shape 1x1x28x28 --json', 'the same for a zoo student, as JSON'],
  ],
  run: async (a, ctx) => {
    const spec = String(a.model);
    const shapeArg = a['input-shape'] === undefined ? undefined : String(a['input-shape']);
    const model = openModel(spec, shapeArg, Number(a.classes));
    // Asked before the analysis, which rewrites the graph; a file is given by path so onnxruntime reads its external data.
    const ort = await probeLoad(spec.startsWith('zoo:') ? serializeModel(model).onnx : spec);
    const shape = shapeArg === undefined ? defaultInputShape(model) : parseInputShape(shapeArg, model);
    const summary = summarizeModel(model, shape);
    if (ctx.json) ctx.print(JSON.stringify({ model: spec, ...summary, onnxruntime: ort }, null, 2));
    else for (const line of render(spec, summary, ort)) ctx.print(line);
  },
};
