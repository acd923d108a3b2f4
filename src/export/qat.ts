import { parseModel, serializeModel, type Model } from '../ir/model.js';
import { META_QAT } from '../ir/metadata.js';
import type { FakeQuantSpec } from '../compiler/network.js';
import { compileInference } from '../compiler/inference.js';
import type { InferenceRunner } from '../runtime/inference.js';
import { UserError } from '../util/errors.js';
import { calibratorNamed, collectStats, type CalibrationImages } from './calibrate/index.js';
import { cleanInferenceGraph } from './fp32.js';
import { planInt8 } from './int8.js';
import type { WeightBits } from './qdq.js';

// The int8 parameters a quantisation-aware student trained with, stored in its run folder (qat.json) and in the
// metadata of every model the run exports (META_QAT), so that `export --format int8` writes exactly these instead of
// calibrating anew. `ranges` are the activations' final [min, max] (tracked through training when `averaging` is set,
// else held at the calibrator's); scales and zero points follow from them by activationParams, the one formula
// training and export share. Weights need nothing stored: their scales are recomputed from the final weights by
// quantizeWeights, the formula the step used.
export interface QatRecord {
  weightBits: WeightBits;
  calibrator: string;
  images: number;
  // Activation value name (in the student's own graph) -> range: the calibrated one at the start of the run, the
  // trained student's final one in its exported record.
  ranges: Record<string, [number, number]>;
  // Pass-through outputs (MaxPool, Flatten, ...) that reuse another activation's parameters: name -> source name.
  shared: Record<string, string>;
  // The moving-average constant the ranges were tracked with (MovingAverageMinMaxObserver's); absent: held.
  averaging?: number;
  // The calibrator's ranges the tracking started from (in a record whose `ranges` are the final ones).
  calibrated?: Record<string, [number, number]>;
}

// PyTorch's averaging_constant in its default QAT qconfig (torch.ao.quantization.observer, 0.01).
export const QAT_AVERAGING = 0.01;

// The activations an int8 export of this fp32 model quantises (the exporter's own plan, on a copy).
export function int8Activations(model: Model): {
  calibrated: string[];
  shared: Record<string, string>;
  fp32: Uint8Array;
} {
  const { model: clean } = cleanInferenceGraph(parseModel(serializeModel(model).onnx));
  const fp32 = serializeModel(clean).onnx;
  const plan = planInt8(clean.graph);
  return {
    calibrated: plan.calibrated.map((v) => v.name),
    shared: Object.fromEntries([...plan.shared].map(([v, src]) => [v.name, src.name])),
    fp32,
  };
}

// Calibrate the activations an int8 export quantises, on images, with a calibrator of the registry (`--calibrate`).
export async function calibrateQat(
  model: Model,
  images: CalibrationImages,
  o: {
    calibrate: string;
    weightBits: WeightBits;
    count: number;
    open: (bytes: Uint8Array) => Promise<InferenceRunner>;
  },
): Promise<QatRecord> {
  const calibrator = await calibratorNamed(o.calibrate);
  const { calibrated, shared, fp32 } = int8Activations(model);
  const probe = parseModel(fp32);
  for (const name of calibrated) {
    const v = probe.graph.values.get(name);
    if (!v) throw new Error(`calibration tensor '${name}' is missing from the fp32 graph`);
    if (!probe.graph.outputs.includes(v)) probe.graph.outputs.push(v);
    v.type = { dtype: 'float32' };
  }
  const runner = await o.open(serializeModel(probe).onnx);
  try {
    const stats = await collectStats(runner, calibrated, images, calibrator.histogram);
    const ranges: Record<string, [number, number]> = {};
    for (const name of calibrated) {
      const s = stats.get(name)!;
      if (!Number.isFinite(s.min) || !Number.isFinite(s.max))
        throw new UserError(`--qat: activation '${name}' has no finite range on the calibration images`);
      ranges[name] = calibrator.range(s);
    }
    return { weightBits: o.weightBits, calibrator: calibrator.name, images: o.count, ranges, shared };
  } finally {
    await runner.close();
  }
}

// The compiler's fake-quant declaration for a record: every calibrated and shared activation from its range, tracked
// with the record's averaging constant (when it has one) by a trainable network.
export function fakeQuantSpec(r: QatRecord): FakeQuantSpec {
  return {
    weightBits: r.weightBits,
    activations: Object.entries(r.ranges).map(([name, range]) => ({ name, range })),
    shared: { ...r.shared },
    ...(r.averaging !== undefined ? { averaging: r.averaging } : {}),
  };
}

// The record of a trained student: its ranges as the run left them (the tracked state `<value>:qat_min` and
// `<value>:qat_max`, by the name in the student's graph), the calibrated ones kept beside them.
export function trainedRecord(r: QatRecord, trained: Record<string, { data: unknown }>): QatRecord {
  if (r.averaging === undefined) return r;
  const at = (name: string, k: 'min' | 'max') => {
    const t = trained[`${name}:qat_${k}`];
    if (!t) throw new Error(`the trained state has no range '${name}:qat_${k}'`);
    return (t.data as Float32Array)[0]!;
  };
  const ranges = Object.fromEntries(
    Object.keys(r.ranges).map((name) => [name, [at(name, 'min'), at(name, 'max')] as [number, number]]),
  );
  return { ...r, ranges, calibrated: r.calibrated ?? r.ranges };
}

// The QAT record a model carries in its metadata, if any.
export function qatRecordOf(model: Model): QatRecord | undefined {
  const text = model.metadata().get(META_QAT);
  if (text === undefined) return undefined;
  const r = JSON.parse(text) as QatRecord;
  if (typeof r !== 'object' || !r || typeof r.ranges !== 'object' || (r.weightBits !== 7 && r.weightBits !== 8))
    throw new UserError(`the model's ${META_QAT} metadata is not a QAT record`);
  return r;
}

// The student as it trained: its fp32 graph fake-quantised at the record's parameters (QuantizeLinear→DequantizeLinear
// in float), which a QAT student's int8 export must agree with (its fp32 weights alone are not what it learned to be).
export function fakeQuantReference(model: Model, r: QatRecord): Uint8Array {
  const spec = { name: 'student', model, role: 'student' as const, trainable: false, fakeQuant: fakeQuantSpec(r) };
  return compileInference([spec], { plainOutput: true }).bytes;
}
