// The report layer: tables, report.json/report.md and PNG plots for the teacher and every export.
export type {
  EpochNetworkStats,
  CurveEpoch,
  QuantizationSummary,
  ReportFormat,
  ReportRole,
  ReportRow,
  TrainingHistory,
} from './types.js';
export { renderPng, renderSvg, svgToPng, type PngOptions } from './plots.js';
export { accuracySizeSpec } from './specs/accuracySize.js';
export { accuracyLatencySpec } from './specs/accuracyLatency.js';
export { pipelineSpec, type PipelineGroupPoint, type PipelineJobPoint } from './specs/pipeline.js';
export { trainingCurvesSpec, type TrainingCurvesOptions } from './specs/trainingCurves.js';
export { formatTable, markdownTable } from './table.js';
export { validateRows } from './validate.js';
export {
  REPORT_FILES,
  writeReport,
  writeTrainingCurves,
  type WriteReportOptions,
  type WrittenReport,
} from './write.js';
