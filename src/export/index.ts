import type { CliContext } from '../util/output.js';
import { loadModel, parseModel, serializeModel } from '../ir/model.js';
import {
  batchesOf,
  describeClassifier,
  openModelData,
  type ClassifierInfo,
  type ModelData,
  type PreprocessFlags,
  type SplitFlags,
} from '../data/modelData.js';
import { StageBar } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { BATCH, DEFAULTS, wholeBatches } from './defaults.js';
import { cleanInferenceGraph, type CleanReport } from './fp32.js';
import {
  EXPORT_FORMATS,
  formatNamed,
  type CalibrationRecord,
  type ConvertOptions,
  type Format,
} from './formats/index.js';
import { verifyExport, VerificationError, type Verification, type VerifyCriteria } from './verify.js';

// The format registry (src/export/formats/) and the defaults, for the commands that export.
export { DEFAULTS } from './defaults.js';
export { FORMATS, type Format } from './formats/index.js';

// Pass criteria by format (each format file declares its own: fp32 to float rounding, fp16 to 1% of the logit
// scale, int8 by predictions, 97% top-1 agreement).
export const CRITERIA: Record<Format, VerifyCriteria> = Object.fromEntries(
  [...EXPORT_FORMATS].map(([n, f]) => [n, f.criteria]),
);

// Everything an export needs besides the model; defaults in DEFAULTS.
export interface ExportOptions extends ConvertOptions {
  format: Format;
  data: string;
  // Validation images verification runs on.
  verifyImages?: number;
  criteria?: VerifyCriteria;
  threads?: number;
  // The onnxruntime-node device the export is verified on (a --device spec; default cpu); the fp32 reference runs on the CPU.
  device?: string;
  preprocess?: PreprocessFlags;
  // The training run's hold-out, for data without a validation split.
  split?: SplitFlags;
  // The data already opened for this model's input and preprocessing (compress exports several models from one).
  opened?: ModelData;
}

// A verified export, not yet written.
export interface ExportResult {
  format: Format;
  bytes: Uint8Array;
  sourceBytes: number;
  clean: CleanReport;
  calibration?: CalibrationRecord;
  verification: Verification;
  // What the export was verified against: 'fp32' (the source), or the fake-quantised student of a QAT run.
  reference: string;
  classifier: ClassifierInfo;
}

// Convert a classifier to a format and verify it in onnxruntime-node and onnxruntime-web against the fp32 model on
// validation images. Throws VerificationError (nothing to write) when it fails.
export async function exportModel(path: string, o: ExportOptions, ctx: CliContext): Promise<ExportResult> {
  const format = formatNamed(String(o.format));
  if (o.io !== undefined && o.io !== 'fp32' && o.io !== 'fp16')
    throw new UserError(`--io: '${String(o.io)}' is not fp32 or fp16`);
  const source = loadModel(path);
  const reference = serializeModel(source).onnx;
  const info = describeClassifier(source, path, o.preprocess);
  const data =
    o.opened ?? (await openModelData(o.data, info, o.preprocess ?? {}, ctx, format.dataRole?.(o) ?? '--data', o.split));
  const { model: clean, report } = cleanInferenceGraph(parseModel(reference, path));
  const { model, calibration, reference: against } = await format.convert(clean, { options: o, data, info, path, ctx });
  const bytes = serializeModel(model).onnx;
  const batch = info.batch ?? BATCH;
  const n = wholeBatches(
    Math.min(o.verifyImages ?? DEFAULTS.verifyImages, data.val.size),
    batch,
    'validation',
    path,
    info,
  );
  const bar = new StageBar(!ctx.json);
  const verification = await verifyExport(against?.bytes ?? reference, bytes, () => batchesOf(data.val, batch, n), {
    ...(o.criteria ?? format.criteria),
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.device ? { device: o.device } : {}),
    ...(o.format === 'fp16' && o.io === 'fp16' ? { inputType: 'float16' as const } : {}),
    progress: (done) => bar.update('verifying in onnxruntime-node and -web', done, n),
  }).finally(() => bar.stop());
  const result: ExportResult = {
    format: o.format,
    bytes,
    sourceBytes: reference.byteLength,
    clean: report,
    verification,
    reference: against?.name ?? 'fp32',
    classifier: info,
    ...(calibration ? { calibration } : {}),
  };
  if (!verification.passed) {
    throw new VerificationError(
      `${path}: the ${o.format} export failed verification on ${verification.images} validation images, nothing was written:\n  ${verification.failures.join('\n  ')}`,
      format.failureHint,
    );
  }
  return result;
}

// Write a verified export atomically (a reader never sees half a file).
export function writeExport(result: ExportResult, out: string): void {
  writeFileAtomic(out, result.bytes);
}
