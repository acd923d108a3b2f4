// The library: the same operations as the CLI, as typed functions taking the same options as a run config file.

// Distil students from a teacher (options as in a `--config` file), or only write the training artifacts.
export { distill } from './pipeline/distill.js';
export { compileDistill, type StagedArtifacts } from './pipeline/compileDistill.js';
export { resolveDistillConfig } from './pipeline/distillConfig.js';
export { SHIPPED_TEACHER, EMBEDDED_DATA } from './pipeline/assets.js';
// A staged run's record (each stage's folder, reuse and record) and a `stages:` entry.
export type { StagedRecord, StageSummary } from './train/stages.js';
export type { StageConfig } from './config/options.js';
export type { ArtifactContract } from './train/artifacts.js';
// The whole job in one call: choose a student under a size budget, distil, export fp32/fp16/int8, evaluate, report.
export { compress, DEFAULT_SIZE, type CompressOptions, type CompressResult } from './pipeline/compress.js';
export type { DistillOptions } from './pipeline/options.js';
// One network trained alone (the one-network case of the same loop).
export { train, type TrainOptions } from './train/trainer.js';
// The loop itself, for custom networks and terms.
export { runNetworks, type RunOptions, type RunRecord, type NetworkSummary } from './train/loop.js';
export type { RunTerm } from './methods/types.js';
export type { EpochRecord } from './train/types.js';
// The compiler: multi-network training steps and inference graphs of standard ONNX ops.
export { compileStep, type StepSpec, type CompiledStep, type TermUse } from './compiler/step.js';
export { compileInference } from './compiler/inference.js';
export type { NetworkSpec } from './compiler/network.js';
// Registries: methods and loss terms by name.
export { METHODS } from './methods/index.js';
export { TERMS } from './compiler/terms/index.js';
// ONNX files in and out, and the model zoo.
export { loadModel, saveModel, Model } from './ir/model.js';
export { buildZooModel, ZOO } from './zoo/index.js';
export { deriveStudent } from './models/student.js';
// Reports and plots.
export { writeReport, writeTrainingCurves, type ReportRow } from './report/index.js';
export { UserError } from './util/errors.js';
