import type { Model } from './model.js';

// The model-metadata keys onnx-distill writes on every classifier it exports and reads back (eval, export, compress,
// a teacher's preprocessing): written once here so writer and readers cannot drift apart.
export const META_CLASSES = 'onnx_distill.classes';
export const META_PREPROCESS = 'onnx_distill.preprocess';
export const META_ENSEMBLE = 'onnx_distill.ensemble';
export const META_METHOD = 'onnx_distill.method';
export const META_TEACHER_SHA256 = 'onnx_distill.teacher_sha256';
export const META_SLIM = 'onnx_distill.slim';
// A quantisation-aware student's int8 parameters as it trained with them (src/export/qat.ts), read by the int8 export.
export const META_QAT = 'onnx_distill.qat';
// A zoo or tapped model's tap map (tap name -> value name) as JSON.
export const META_TAPS = 'onnx_distill.taps';
// How a zoo model was built (name, input, classes, seed) as JSON.
export const META_ZOO = 'onnx_distill.zoo';

// Record a trained classifier's class names and the preprocessing its inputs had (JSON values).
export function setClassifierMetadata(m: Model, classes: string[], preprocess: unknown): void {
  m.setMetadata(META_CLASSES, JSON.stringify(classes));
  if (preprocess !== undefined) m.setMetadata(META_PREPROCESS, JSON.stringify(preprocess));
}
