import { parseModel, serializeModel, type Model } from '../ir/model.js';
import { META_QAT } from '../ir/metadata.js';
import type { FakeQuantSpec } from '../compiler/network.js';
import { compileInference } from '../compiler/inference.js';
import type { InferenceRunner } from '../runtime/inference.js';
import { UserError } from '../util/errors.js';
import { calibratorNamed, collectStats, type CalibrationImages } from './calibrate/index.js';
import { cleanInferenceGraph } from './fp32.js';
import { planInt8 } from './int8.js';
import { activationParams, type WeightBits } from './qdq.js';

// The int8 parameters a quantisation-aware student trained with, stored in its checkpointed run (qat.json) and in the
// metadata of every model the run exports (META_QAT), so that `export --format int8` writes exactly these instead of
// calibrating anew. Ranges are the calibrator's [lo, hi]; scales and zero points follow from them by activationParams,
// the one formula training and export share. Weights need nothing stored: their scales are recomputed from the final
// weights by quantizeWeights, the formula the step used.
export interface QatRecord {
  weightBits: WeightBits;
  calibrator: string;
  images: number;
  // Activation value name (in the student's own graph) -> calibrated range.
  ranges: Record<string, [number, number]>;
  // Pass-through outputs (MaxPool, Flatten, ...) that reuse another activation's parameters: name -> source name.
  shared: Record<string, string>;
}

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

// The compiler's fake-quant declaration for a record: every calibrated and shared activation at its uint8 parameters.
export function fakeQuantSpec(r: QatRecord): FakeQuantSpec {
  const params = (name: string) => activationParams(...r.ranges[name]!);
  return {
    weightBits: r.weightBits,
    activations: [
      ...Object.keys(r.ranges).map((name) => ({ name, ...params(name) })),
      ...Object.entries(r.shared).map(([name, src]) => ({ name, ...params(src) })),
    ],
  };
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
