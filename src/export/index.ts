import type { CliContext } from '../util/output.js';
import { loadModel, parseModel, serializeModel, type Model } from '../ir/model.js';
import { batchesOf, describeClassifier, openModelData, type ClassifierInfo, type ModelData, type PreprocessFlags, type SplitFlags } from '../data/modelData.js';
import { openRunner } from '../runtime/inference.js';
import { StageBar } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { calibratorNamed, collectStats } from './calibrate/index.js';
import { toFloat16, type IoType } from './fp16.js';
import { cleanInferenceGraph, type CleanReport } from './fp32.js';
import { planInt8, quantizeDynamic, quantizeStatic } from './int8.js';
import { verifyExport, VerificationError, type Verification, type VerifyCriteria } from './verify.js';
import { checkWeightBits, type WeightBits } from './qdq.js';

// The formats `export --format` writes.
export const FORMATS = ['fp32', 'fp16', 'int8'] as const;
export type Format = (typeof FORMATS)[number];

// Everything an export needs besides the model; defaults in DEFAULTS.
export interface ExportOptions {
  format: Format;
  io?: IoType;
  // int8: calibration images from the training split, the range calibrator, or dynamic quantisation instead.
  calibration?: number;
  calibrate?: string;
  dynamic?: boolean;
  // int8: weight bits, 7 (default: no saturation in onnxruntime's x86 kernels without VNNI) or 8 (one more bit of
  // precision, for targets with VNNI or ARM dot-product kernels).
  weightBits?: WeightBits;
  data: string;
  // Validation images verification runs on.
  verifyImages?: number;
  criteria?: VerifyCriteria;
  threads?: number;
  preprocess?: PreprocessFlags;
  // The training run's hold-out, for data without a validation split.
  split?: SplitFlags;
  // The data already opened for this model's input and preprocessing (compress exports several models from one).
  opened?: ModelData;
}

// Defaults: 512 calibration images (onnxruntime's examples use a few hundred), 1,000 verification images.
export const DEFAULTS = { calibration: 512, calibrate: 'percentile', verifyImages: 1000, io: 'fp32' as IoType, weightBits: 7 as WeightBits };

// Pass criteria by format: fp32 is a rewrite and must match to float rounding, fp16 to 1% of the logit scale,
// int8 by predictions (97% top-1 agreement).
export const CRITERIA: Record<Format, VerifyCriteria> = {
  fp32: { tolerance: 1e-4 },
  fp16: { tolerance: 1e-2 },
  int8: { minAgreement: 0.97 },
};

// A verified export, not yet written.
export interface ExportResult {
  format: Format;
  bytes: Uint8Array;
  sourceBytes: number;
  clean: CleanReport;
  calibration?: { images: number; calibrator: string; tensors: number } | { dynamic: true };
  verification: Verification;
  classifier: ClassifierInfo;
}

const BATCH = 32;

// Whole batches only when the input's batch size is fixed (onnxruntime refuses a short last batch); none is an error.
function wholeBatches(wanted: number, batch: number, what: string, path: string, info: ClassifierInfo): number {
  const n = info.batch === undefined ? wanted : Math.floor(wanted / batch) * batch;
  if (n === 0 && wanted > 0) throw new UserError(`${path}: input '${info.inputName}' has a fixed batch of ${batch} images, more than the ${wanted} ${what} images`, 'give the model a dynamic batch dim, or use more images');
  return n;
}

async function convert(model: Model, o: ExportOptions, data: ModelData, ctx: CliContext, path: string, info: ClassifierInfo): Promise<{ model: Model; calibration?: ExportResult['calibration'] }> {
  if (o.format === 'fp32') return { model };
  if (o.format === 'fp16') return { model: toFloat16(model, o.io ?? DEFAULTS.io) };
  if (o.io === 'fp16') throw new UserError('--io fp16 goes with --format fp16; int8 models take and give float32');
  const bits = checkWeightBits(o.weightBits ?? DEFAULTS.weightBits);
  if (o.dynamic) return { model: quantizeDynamic(model, bits), calibration: { dynamic: true } };
  const calibrator = await calibratorNamed(o.calibrate ?? DEFAULTS.calibrate);
  const fp32 = serializeModel(model).onnx;
  const plan = planInt8(model.graph);
  const probe = parseModel(fp32);
  const names = plan.calibrated.map((v) => v.name);
  probe.graph.outputs = [...probe.graph.outputs, ...names.filter((n) => !probe.graph.outputs.some((v) => v.name === n)).map((n) => {
    const v = probe.graph.values.get(n);
    if (!v) throw new Error(`calibration tensor '${n}' is missing from the fp32 graph`);
    v.type = { dtype: 'float32' };
    return v;
  })];
  const batch = info.batch ?? BATCH;
  const images = wholeBatches(Math.min(o.calibration ?? DEFAULTS.calibration, data.train.size), batch, 'calibration', path, info);
  const runner = await openRunner('node', serializeModel(probe).onnx, o.threads ? { threads: o.threads } : {});
  const bar = new StageBar(!ctx.json);
  try {
    const stats = await collectStats(runner, names, () => batchesOf(data.train, batch, images, true), calibrator.histogram, (stage, done) => bar.update(stage, done, images));
    // NaN or infinite weights give activations with no finite range: nothing to quantise to, and the model's fault.
    const bad = names.find((name) => { const t = stats.get(name); return !t || !Number.isFinite(t.min) || !Number.isFinite(t.max); });
    if (bad) {
      const t = stats.get(bad);
      throw new UserError(`${path}: activation '${bad}' has no finite range on ${images} calibration images (min ${t?.min}, max ${t?.max}); the model computes NaN or infinite values`, 'check the model\'s weights: it may be damaged');
    }
    return { model: quantizeStatic(model, plan, stats, calibrator, bits), calibration: { images, calibrator: calibrator.name, tensors: names.length } };
  } finally {
    bar.stop();
    await runner.close();
  }
}

// Convert a classifier to a format and verify it in onnxruntime-node and onnxruntime-web against the fp32 model on
// validation images. Throws VerificationError (nothing to write) when it fails.
export async function exportModel(path: string, o: ExportOptions, ctx: CliContext): Promise<ExportResult> {
  if (!FORMATS.includes(o.format)) throw new UserError(`--format: unknown format '${String(o.format)}'; choose one of ${FORMATS.join(', ')}`);
  if (o.io !== undefined && o.io !== 'fp32' && o.io !== 'fp16') throw new UserError(`--io: '${String(o.io)}' is not fp32 or fp16`);
  const source = loadModel(path);
  const reference = serializeModel(source).onnx;
  const info = describeClassifier(source, path, o.preprocess);
  const data = o.opened ?? await openModelData(o.data, info, o.preprocess ?? {}, ctx, o.format === 'int8' && !o.dynamic ? '--data (calibration and validation)' : '--data', o.split);
  const { model: clean, report } = cleanInferenceGraph(parseModel(reference, path));
  const { model, calibration } = await convert(clean, o, data, ctx, path, info);
  const bytes = serializeModel(model).onnx;
  const batch = info.batch ?? BATCH;
  const n = wholeBatches(Math.min(o.verifyImages ?? DEFAULTS.verifyImages, data.val.size), batch, 'validation', path, info);
  const bar = new StageBar(!ctx.json);
  const verification = await verifyExport(reference, bytes, () => batchesOf(data.val, batch, n), {
    ...(o.criteria ?? CRITERIA[o.format]), ...(o.threads ? { threads: o.threads } : {}),
    ...(o.format === 'fp16' && o.io === 'fp16' ? { inputType: 'float16' as const } : {}),
    progress: (done) => bar.update('verifying in onnxruntime-node and -web', done, n),
  }).finally(() => bar.stop());
  const result: ExportResult = {
    format: o.format, bytes, sourceBytes: reference.byteLength, clean: report, verification, classifier: info,
    ...(calibration ? { calibration } : {}),
  };
  if (!verification.passed) {
    throw new VerificationError(`${path}: the ${o.format} export failed verification on ${verification.images} validation images, nothing was written:\n  ${verification.failures.join('\n  ')}`,
      o.format === 'int8' ? 'try --calibrate entropy or minmax, more --calibration images, or --dynamic' : undefined);
  }
  return result;
}

// Write a verified export atomically (a reader never sees half a file).
export function writeExport(result: ExportResult, out: string): void {
  writeFileAtomic(out, result.bytes);
}
