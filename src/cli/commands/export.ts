import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULTS, exportModel, FORMATS, writeExport, type ExportResult, type Format } from '../../export/index.js';
import type { Agreement } from '../../export/verify.js';
import type { WeightBits } from '../../export/qdq.js';
import { UserError } from '../../util/errors.js';
import { acquireLock, checkOutFile } from '../../util/lock.js';
import type { CliContext, CommandDef } from '../command.js';
import { bytes, table } from '../format.js';
import { positive } from '../options.js';
import { preprocessFlags, preprocessOptions } from './eval.js';
import { EMBEDDED_DATA } from '../../pipeline/assets.js';

// Default output beside the input: model.onnx -> model.int8.onnx.
function defaultOut(model: string, format: Format): string {
  return join(dirname(model), `${basename(model).replace(/\.onnx$/i, '')}.${format}.onnx`);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const agreement = (a: Agreement) => [
  `max |Δlogit| ${a.maxAbsDelta.toExponential(2)} (${a.maxRelDelta.toExponential(2)} of max |logit|)`,
  `top-1 agreement ${pct(a.top1Agreement)}`,
];

function render(r: ExportResult, out: string): string[] {
  const v = r.verification;
  const cal = r.calibration;
  return [
    `wrote ${out}: ${r.format}, ${bytes(r.bytes.byteLength)} (${((100 * r.bytes.byteLength) / r.sourceBytes).toFixed(1)}% of the source's ${bytes(r.sourceBytes)})`,
    `graph: ${r.clean.foldedBatchNorms} BatchNorm folded, ${r.clean.removedNodes} nodes removed`,
    ...(cal
      ? [
          'dynamic' in cal
            ? 'int8: dynamic (activation scales computed per run)'
            : `int8: ${cal.tensors} activations calibrated (${cal.calibrator}) on ${cal.images} training images`,
        ]
      : []),
    `verified on ${v.images} validation images against the ${r.reference === 'fp32' ? 'fp32 model' : r.reference}:`,
    ...table([
      [v.nodeDevice === 'cpu' ? 'onnxruntime-node' : `onnxruntime-node (${v.nodeDevice})`, ...agreement(v.node)],
      ['onnxruntime-web (wasm)', ...agreement(v.web)],
      ['node vs web', ...agreement(v.nodeVsWeb)],
    ]),
    `top-1 accuracy: ${r.reference === 'fp32' ? 'fp32' : 'reference'} ${pct(v.top1.fp32)}, ${r.format} ${pct(v.top1.node)} (node) / ${pct(v.top1.web)} (web)`,
  ];
}

// `onnx-distill export`: a verified fp32 / fp16 / int8 inference model for deployment.
export const command: CommandDef = {
  command: 'export <model>',
  describe: 'write a verified inference model: fp32 (BatchNorm folded), fp16, or int8 (calibrated QDQ)',
  builder: (y: Argv) =>
    preprocessOptions(
      y
        .positional('model', { type: 'string', describe: 'the trained classifier (.onnx)' })
        .option('format', {
          type: 'string',
          demandOption: true,
          describe: `fp32 (clean inference graph) | fp16 | int8`,
        })
        .option('out', { type: 'string', describe: 'output file (default: <model>.<format>.onnx beside the input)' })
        .option('io', {
          type: 'string',
          default: DEFAULTS.io,
          describe: "fp16: element type of the model's input and output (fp32 | fp16)",
        })
        .option('calibration', {
          type: 'number',
          default: DEFAULTS.calibration,
          describe: 'int8: training images to calibrate activation ranges on',
        })
        .option('calibrate', {
          type: 'string',
          default: DEFAULTS.calibrate,
          describe: 'int8: range calibrator: minmax | percentile | entropy',
        })
        .option('weight-bits', {
          type: 'number',
          default: DEFAULTS.weightBits,
          describe:
            "int8: weight bits: 7 runs unsaturated on every x86 CPU (onnxruntime's AVX2 kernels without VNNI saturate 8-bit weights); 8 keeps one more bit, for VNNI or ARM targets",
        })
        .option('dynamic', {
          type: 'boolean',
          default: false,
          describe: 'int8: quantise activations at run time instead of calibrating',
        })
        .option('data', {
          type: 'string',
          default: EMBEDDED_DATA,
          defaultDescription: 'the embedded Fashion-MNIST subset',
          describe: 'dataset for calibration (training split) and verification (validation split)',
        })
        .option('verify-images', {
          type: 'number',
          default: DEFAULTS.verifyImages,
          describe: 'validation images to verify on',
        })
        .option('min-agreement', {
          type: 'number',
          describe: 'int8: least top-1 agreement with fp32 to pass verification (default 0.97)',
        })
        .option('tolerance', {
          type: 'number',
          describe: 'fp32/fp16: largest max |Δlogit| relative to the largest logit (default 1e-4 / 1e-2)',
        })
        .option('threads', {
          type: 'number',
          default: 1,
          describe: 'onnxruntime-node threads for calibration and verification',
        })
        .option('device', {
          type: 'string',
          default: 'cpu',
          describe:
            'onnxruntime-node device the export is verified on: cpu | cuda | webgpu | auto (the fp32 reference runs on the CPU)',
        })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite --out if it exists' }),
    ),
  examples: [
    [
      '$0 export runs/demo/model.onnx --format int8',
      'calibrated int8 (512 training images, percentile ranges), checked in onnxruntime-node and -web',
    ],
    [
      '$0 export model.onnx --format fp16 --out model.fp16.onnx',
      'half the size; float32 input and output, Softmax and friends kept in float32',
    ],
    [
      '$0 export model.onnx --format int8 --calibrate entropy --calibration 1000',
      'another range calibrator on more images',
    ],
    [
      '$0 export model.onnx --format fp32 --data photos/ --input 3x224x224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225',
      'a model from elsewhere, whose preprocessing is not in its metadata',
    ],
  ],
  run: async (a, ctx) => {
    const model = String(a.model);
    const format = String(a.format) as Format;
    if (!FORMATS.includes(format))
      throw new UserError(`--format: unknown format '${format}'; choose one of ${FORMATS.join(', ')}`);
    const out = resolve(a.out === undefined ? defaultOut(model, format) : String(a.out));
    if (existsSync(out) && !a.force) throw new UserError(`--out: ${out} exists; pass --force to overwrite it`);
    if (resolve(model) === out) throw new UserError(`--out: ${out} is the input model; choose another file`);
    checkOutFile(out);
    const unlock = acquireLock(`${out}.lock`, 'export', `--out ${out}`);
    try {
      await exportTo(a, model, format, out, ctx);
    } finally {
      unlock();
    }
  },
};

// Export, verify and write the model to `out` (locked), then print what was written.
async function exportTo(
  a: Record<string, unknown>,
  model: string,
  format: Format,
  out: string,
  ctx: CliContext,
): Promise<void> {
  const criteria =
    a['min-agreement'] !== undefined || a.tolerance !== undefined
      ? {
          ...(a['min-agreement'] !== undefined ? { minAgreement: Number(a['min-agreement']) } : {}),
          ...(a.tolerance !== undefined ? { tolerance: positive(a.tolerance, '--tolerance') } : {}),
        }
      : undefined;
  const result = await exportModel(
    model,
    {
      format,
      io: String(a.io) as 'fp32',
      calibration: positive(a.calibration, '--calibration', true),
      calibrate: String(a.calibrate),
      weightBits: Number(a['weight-bits']) as WeightBits,
      dynamic: Boolean(a.dynamic),
      data: String(a.data),
      verifyImages: positive(a['verify-images'], '--verify-images', true),
      threads: positive(a.threads, '--threads', true),
      device: String(a.device),
      preprocess: preprocessFlags(a),
      ...(criteria ? { criteria } : {}),
    },
    ctx,
  );
  writeExport(result, out);
  if (ctx.json) {
    const { bytes: b, ...rest } = result;
    ctx.print(JSON.stringify({ out, sizeBytes: b.byteLength, ...rest }, null, 2));
  } else for (const line of render(result, out)) ctx.print(line);
}
