import type { ClassifierInfo, ModelData } from '../../data/modelData.js';
import type { Model } from '../../ir/model.js';
import type { CliContext } from '../../util/output.js';
import type { IoType } from '../fp16.js';
import type { WeightBits } from '../qdq.js';
import type { VerifyCriteria } from '../verify.js';

// A format's name (`export --format`, `compress --formats`): one of the files of src/export/formats/.
export type Format = string;

// The options a format's conversion reads (ExportOptions adds the data and verification ones).
export interface ConvertOptions {
  io?: IoType;
  // int8: calibration images from the training split, the range calibrator, or dynamic quantisation instead.
  calibration?: number;
  calibrate?: string;
  dynamic?: boolean;
  // int8: weight bits, 7 (default: no saturation in onnxruntime's x86 kernels without VNNI) or 8 (one more bit of
  // precision, for targets with VNNI or ARM dot-product kernels).
  weightBits?: WeightBits;
  threads?: number;
}

// What a conversion sees besides the cleaned fp32 model: the options, the opened data, the classifier and its file.
export interface ConvertJob {
  options: ConvertOptions;
  data: ModelData;
  info: ClassifierInfo;
  path: string;
  ctx: CliContext;
}

// How a calibrated export was calibrated (in the export's JSON and the report).
export type CalibrationRecord = { images: number; calibrator: string; tensors: number } | { dynamic: true };

// One export format (one file each in src/export/formats/, found by the registry in index.ts).
export interface ExportFormat {
  name: Format;
  // Position in FORMATS (the default `compress --formats` order: fp32 first, the reference).
  order: number;
  // Pass criteria of the verification against the fp32 model.
  criteria: VerifyCriteria;
  // The marker the report's trade-off plot draws this format with.
  marker: string;
  // The `--data` option name in errors: what the data is used for with this format and options.
  dataRole?(o: ConvertOptions): string;
  // The hint a failed verification gives.
  failureHint?: string;
  // `reference`: the model the export is verified against when it is not the fp32 source (a QAT student's int8 is
  // checked against the fake-quantised student it was trained as).
  convert(
    model: Model,
    job: ConvertJob,
  ): Promise<{ model: Model; calibration?: CalibrationRecord; reference?: { bytes: Uint8Array; name: string } }>;
}
