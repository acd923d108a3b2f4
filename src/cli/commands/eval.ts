import type { Argv } from 'yargs';
import { describeLatency, evaluateModel, LATENCY_DEFAULTS, type EvalReport } from '../../eval/index.js';
import type { PreprocessFlags } from '../../data/modelData.js';
import type { CommandDef } from '../command.js';
import { bytes, grouped, si, table } from '../format.js';
import { parseDims, parseNumbers, positive } from '../options.js';
import { EMBEDDED_DATA } from '../../pipeline/assets.js';

// The preprocessing flags export and eval share, for models whose metadata does not record it.
export function preprocessOptions(y: Argv): Argv {
  return y
    .option('input', {
      type: 'string',
      describe: 'input CxHxW, when the model has no static size and no recorded preprocessing',
    })
    .option('mean', {
      type: 'string',
      describe: 'per-channel mean on the 0..1 scale, when the model records none (with --std)',
    })
    .option('std', {
      type: 'string',
      describe: 'per-channel std on the 0..1 scale, when the model records none (with --mean)',
    });
}

// Parse those flags.
export function preprocessFlags(a: Record<string, unknown>): PreprocessFlags {
  return {
    ...(a.input !== undefined ? { input: parseDims(String(a.input), '--input', [3]) as [number, number, number] } : {}),
    ...(a.mean !== undefined ? { mean: parseNumbers(String(a.mean), '--mean') } : {}),
    ...(a.std !== undefined ? { std: parseNumbers(String(a.std), '--std') } : {}),
  };
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);

function render(r: EvalReport): string[] {
  const acc = r.accuracy;
  const k = r.classes.length;
  const confusion =
    k <= 20
      ? [
          'confusion (rows: true class, columns: predicted):',
          ...table(acc.confusion.map((row, i) => [String(i), ...row.map(String)])),
        ]
      : ['confusion matrix: in --json (more than 20 classes)'];
  return [
    `${r.model} on ${r.data} (${acc.images} images, input ${r.input.join('x')})`,
    `top-1 ${pct(acc.top1)}   top-5 ${pct(acc.top5)}`,
    'per class:',
    ...table(r.classes.map((c, i) => [String(i), c, pct(acc.perClass[i] ?? null)])),
    ...confusion,
    `latency (onnxruntime-node ${r.runtime.version} on ${r.runtime.device}, ${r.runtime.threads} thread${r.runtime.threads > 1 ? 's' : ''}; ${describeLatency(r.latency)}):`,
    ...table(
      r.latency.map((l) => [
        `batch ${l.batch}`,
        `p50 ${l.p50.toFixed(3)} ms`,
        `p95 ${l.p95.toFixed(3)} ms`,
        `${((1000 * l.batch) / l.p50).toFixed(0)} img/s`,
      ]),
    ),
    `size ${bytes(r.sizeBytes)}, parameters ${grouped(r.parameters)}, MACs ${si(r.macs)} per image`,
  ];
}

// `onnx-distill eval`: how good and how fast any ONNX classifier is, on your data and this CPU.
export const command: CommandDef = {
  command: 'eval <model>',
  describe:
    'accuracy (top-1/5, per class, confusion), latency at batch 1 and 32, size, parameters and MACs of a classifier',
  builder: (y: Argv) =>
    preprocessOptions(
      y
        .positional('model', { type: 'string', describe: 'an ONNX image classifier (from this tool or elsewhere)' })
        .option('data', {
          type: 'string',
          default: EMBEDDED_DATA,
          defaultDescription: 'the embedded Fashion-MNIST subset',
          describe: 'dataset; its validation split (or the whole set without one) is evaluated',
        })
        .option('limit', { type: 'number', describe: 'evaluate at most this many images' })
        .option('batch-size', { type: 'number', default: 64, describe: 'images per run for accuracy' })
        .option('threads', {
          type: 'number',
          default: 1,
          describe: 'onnxruntime-node intra-op threads (accuracy and latency)',
        })
        .option('device', {
          type: 'string',
          default: 'cpu',
          describe:
            'onnxruntime-node device for accuracy and latency: cpu | cuda | webgpu | auto (tried in priority order)',
        })
        .option('runs', {
          type: 'number',
          default: LATENCY_DEFAULTS.runs,
          describe: `timed runs per latency batch size (after ${LATENCY_DEFAULTS.warmup} warm-up runs), cut short by --latency-seconds`,
        })
        .option('latency-seconds', {
          type: 'number',
          default: LATENCY_DEFAULTS.seconds,
          describe: `time budget of the timed runs per batch size: timing stops at --runs or at this, whichever comes first (at least ${LATENCY_DEFAULTS.minRuns} runs; the warm-up gets a quarter of it)`,
        })
        .option('latency-batches', {
          type: 'string',
          default: '1,32',
          describe: 'batch sizes to time, comma-separated',
        }),
    ),
  examples: [
    ['$0 eval runs/demo/model.onnx', 'accuracy on the embedded Fashion-MNIST test images, latency, size, MACs'],
    ['$0 eval runs/demo/model.int8.onnx --threads 2 --json', 'the int8 export on 2 threads, as JSON'],
    [
      '$0 eval resnet18.onnx --data imagenet-val/ --input 3x224x224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225',
      'a PyTorch export without recorded preprocessing',
    ],
  ],
  run: async (a, ctx) => {
    const latencyBatches = parseNumbers(String(a['latency-batches']), '--latency-batches').map((b) =>
      positive(b, '--latency-batches', true),
    );
    const report = await evaluateModel(
      String(a.model),
      {
        data: String(a.data),
        preprocess: preprocessFlags(a),
        batchSize: positive(a['batch-size'], '--batch-size', true),
        threads: positive(a.threads, '--threads', true),
        device: String(a.device),
        runs: positive(a.runs, '--runs', true),
        latencyBatches,
        latencySeconds: positive(a['latency-seconds'], '--latency-seconds'),
        ...(a.limit !== undefined ? { limit: positive(a.limit, '--limit', true) } : {}),
      },
      ctx,
    );
    if (ctx.json) ctx.print(JSON.stringify(report, null, 2));
    else for (const line of render(report)) ctx.print(line);
  },
};
