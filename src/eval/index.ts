import { fromBinary } from '@bufbuild/protobuf';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { countMacs } from '../analysis/macs.js';
import { countParameters } from '../analysis/params.js';
import type { CliContext } from '../util/output.js';
import { loadModel, parseModel, serializeModel } from '../ir/model.js';
import { inferShapes } from '../ir/passes/shapes.js';
import { ModelProtoSchema } from '../onnx/onnx_pb.js';
import {
  batchesOf,
  describeClassifier,
  openModelData,
  type ModelData,
  type PreprocessFlags,
  type SplitFlags,
} from '../data/modelData.js';
import { engineVersions, openRunner } from '../runtime/inference.js';
import { StageBar } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { AccuracyMeter, argmaxRows, type AccuracyReport } from './metrics.js';
import { measureLatency, type LatencyReport } from './latency.js';

export { AccuracyMeter } from './metrics.js';
export { describeLatency, LATENCY_DEFAULTS, measureLatency } from './latency.js';

// What `eval` measures of a classifier.
export interface EvalReport {
  model: string;
  data: string;
  classes: string[];
  // Against the data's labels, or against `EvalOptions.labels` (agreement with a reference model's predictions).
  accuracy: AccuracyReport;
  // The model's top class for each evaluated image, in order.
  predictions: Int32Array;
  latency: LatencyReport[];
  // Bytes on disk: the .onnx file plus any external data files it names.
  sizeBytes: number;
  parameters: number;
  macs: number;
  input: [number, number, number];
  runtime: { engine: 'onnxruntime-node'; version: string; threads: number; device: string };
}

// Options of an evaluation; `batches` are the latency batch sizes (default 1 and 32).
export interface EvalOptions {
  data: string;
  preprocess?: PreprocessFlags;
  limit?: number;
  batchSize?: number;
  threads?: number;
  // onnxruntime-node device(s) for accuracy and latency (a --device spec; default cpu).
  device?: string;
  latencyBatches?: number[];
  runs?: number;
  // Time budget of the timed latency runs per batch size, in seconds (they stop at `runs` or at this, whichever first).
  latencySeconds?: number;
  // The training run's hold-out, for data without a validation split.
  split?: SplitFlags;
  // The data already opened for this model's input and preprocessing (compress evaluates several models on one).
  opened?: ModelData;
  // Score against these labels (a reference model's predictions, in evaluation order) instead of the data's, or
  // against the model's own predictions ('predictions': the reference itself, on data without labels).
  labels?: Int32Array | 'predictions';
}

function sizeOnDisk(path: string): number {
  let total = statSync(path).size;
  const seen = new Set<string>();
  for (const t of fromBinary(ModelProtoSchema, readFileSync(path)).graph?.initializer ?? []) {
    const loc = t.externalData.find((e) => e.key === 'location')?.value;
    if (loc && !seen.has(loc)) {
      seen.add(loc);
      total += statSync(resolve(dirname(path), loc)).size;
    }
  }
  return total;
}

// Evaluate any ONNX image classifier: accuracy (top-1, top-5, per class, confusion) on the validation split, latency
// at batch 1 and 32 in onnxruntime-node, size on disk, parameters and MACs.
export async function evaluateModel(path: string, o: EvalOptions, ctx: CliContext): Promise<EvalReport> {
  const model = loadModel(path);
  const info = describeClassifier(model, path, o.preprocess);
  const data = o.opened ?? (await openModelData(o.data, info, o.preprocess ?? {}, ctx, '--data', o.split));
  const bytes = serializeModel(model).onnx;
  const threads = o.threads ?? 1;
  const inputType = info.inputType === 'float16' ? ('float16' as const) : undefined;
  const device = o.device ? { device: o.device } : {};
  const runner = await openRunner('node', bytes, { threads, ...(inputType ? { inputType } : {}), ...device });
  const ranOn = runner.device;
  const meter = new AccuracyMeter(info.classes);
  const total = Math.min(o.limit ?? Infinity, data.val.size);
  if (!data.labelled && o.labels === undefined)
    throw new UserError(
      `${data.description} has no labels to measure accuracy on`,
      'give labelled data, or compare with the teacher (compress does)',
    );
  if (o.labels instanceof Int32Array && o.labels.length < total)
    throw new Error(`evaluate: ${o.labels.length} reference labels for ${total} images`);
  const predictions = new Int32Array(total);
  const bar = new StageBar(!ctx.json);
  try {
    let done = 0;
    for await (const b of batchesOf(data.val, o.batchSize ?? 64, total)) {
      const out = (await runner.run(b.x, b.dims))[runner.outputNames[0]!]!;
      const top = argmaxRows(out.data, b.n, info.classes);
      predictions.set(top, done);
      meter.add(out.data, o.labels === 'predictions' ? top : o.labels ? o.labels.subarray(done, done + b.n) : b.y, b.n);
      bar.update('evaluating', (done += b.n), total);
    }
  } finally {
    bar.stop();
    await runner.close();
  }
  const latency: LatencyReport[] = [];
  const timing = new StageBar(!ctx.json);
  try {
    for (const batch of o.latencyBatches ?? [1, 32]) {
      const onRun = (done: number, planned: number) => timing.update(`timing batch ${batch}`, done, planned);
      latency.push(
        await measureLatency(bytes, info.input, {
          batch,
          threads,
          onRun,
          ...(o.runs !== undefined ? { runs: o.runs } : {}),
          ...(o.latencySeconds !== undefined ? { seconds: o.latencySeconds } : {}),
          ...(inputType ? { inputType } : {}),
          ...device,
        }),
      );
    }
  } finally {
    timing.stop();
  }
  const shaped = parseModel(bytes, path).graph;
  inferShapes(shaped, { inputShapes: { [info.inputName]: [1, ...info.input] } });
  return {
    model: path,
    data: data.description,
    classes: data.classes,
    accuracy: meter.report(),
    predictions,
    latency,
    sizeBytes: sizeOnDisk(path),
    parameters: countParameters(shaped).count,
    macs: countMacs(shaped).total,
    input: info.input,
    runtime: { engine: 'onnxruntime-node', version: engineVersions().node, threads, device: ranOn },
  };
}
