import { batchesOf } from '../../data/modelData.js';
import { parseModel, serializeModel, type Model } from '../../ir/model.js';
import { openRunner } from '../../runtime/inference.js';
import { UserError } from '../../util/errors.js';
import { StageBar } from '../../util/progress.js';
import { calibratorNamed, collectStats } from '../calibrate/index.js';
import { BATCH, DEFAULTS, wholeBatches } from '../defaults.js';
import { planInt8, quantizeDynamic, quantizeStatic } from '../int8.js';
import { checkWeightBits } from '../qdq.js';
import { fakeQuantReference, qatRecordOf, type QatRecord } from '../qat.js';
import type { Int8Plan } from '../int8.js';
import type { TensorStats } from '../calibrate/index.js';
import type { CalibrationRecord, ConvertJob, ExportFormat } from './types.js';

// Static QDQ int8 calibrated on training images (or dynamic quantisation): judged by predictions, 97% top-1 agreement.
export const format: ExportFormat = {
  name: 'int8',
  order: 2,
  criteria: { minAgreement: 0.97 },
  marker: 'triangle-up',
  dataRole: (o) => (o.dynamic ? '--data' : '--data (calibration and validation)'),
  failureHint: 'try --calibrate entropy or minmax, more --calibration images, or --dynamic',
  convert: quantize,
};

// Calibrate the activations' ranges on the training split, then quantise weights and activations.
async function quantize(
  model: Model,
  { options, data, info, path, ctx }: ConvertJob,
): Promise<{ model: Model; calibration?: CalibrationRecord }> {
  if (options.io === 'fp16')
    throw new UserError('--io fp16 goes with --format fp16; int8 models take and give float32');
  const qat = options.dynamic ? undefined : qatRecordOf(model);
  if (qat) return quantizeAsTrained(model, qat, options.weightBits, path);
  const bits = checkWeightBits(options.weightBits ?? DEFAULTS.weightBits);
  if (options.dynamic) return { model: quantizeDynamic(model, bits), calibration: { dynamic: true } };
  const calibrator = await calibratorNamed(options.calibrate ?? DEFAULTS.calibrate);
  const fp32 = serializeModel(model).onnx;
  const plan = planInt8(model.graph);
  const probe = parseModel(fp32);
  const names = plan.calibrated.map((v) => v.name);
  probe.graph.outputs = [
    ...probe.graph.outputs,
    ...names
      .filter((n) => !probe.graph.outputs.some((v) => v.name === n))
      .map((n) => {
        const v = probe.graph.values.get(n);
        if (!v) throw new Error(`calibration tensor '${n}' is missing from the fp32 graph`);
        v.type = { dtype: 'float32' };
        return v;
      }),
  ];
  const batch = info.batch ?? BATCH;
  const images = wholeBatches(
    Math.min(options.calibration ?? DEFAULTS.calibration, data.train.size),
    batch,
    'calibration',
    path,
    info,
  );
  const runner = await openRunner(
    'node',
    serializeModel(probe).onnx,
    options.threads ? { threads: options.threads } : {},
  );
  const bar = new StageBar(!ctx.json);
  try {
    const stats = await collectStats(
      runner,
      names,
      () => batchesOf(data.train, batch, images, true),
      calibrator.histogram,
      (stage, done) => bar.update(stage, done, images),
    );
    // NaN or infinite weights give activations with no finite range: nothing to quantise to, and the model's fault.
    const bad = names.find((name) => {
      const t = stats.get(name);
      return !t || !Number.isFinite(t.min) || !Number.isFinite(t.max);
    });
    if (bad) {
      const t = stats.get(bad);
      throw new UserError(
        `${path}: activation '${bad}' has no finite range on ${images} calibration images (min ${t?.min}, max ${t?.max}); the model computes NaN or infinite values`,
        "check the model's weights: it may be damaged",
      );
    }
    return {
      model: quantizeStatic(model, plan, stats, calibrator, bits),
      calibration: { images, calibrator: calibrator.name, tensors: names.length },
    };
  } finally {
    bar.stop();
    await runner.close();
  }
}

// A quantisation-aware student: the activation ranges it ended training with (no calibration) and its weight bits, through
// the same writer as a calibrated export, so the int8 model computes what the fake-quantised student computed.
async function quantizeAsTrained(
  model: Model,
  qat: QatRecord,
  given: number | undefined,
  path: string,
): Promise<{ model: Model; calibration: CalibrationRecord; reference: { bytes: Uint8Array; name: string } }> {
  if (given !== undefined && checkWeightBits(given) !== qat.weightBits)
    throw new UserError(
      `--weight-bits ${given}: ${path} was trained quantisation-aware with ${qat.weightBits}-bit weights`,
      `export it with --weight-bits ${qat.weightBits}, or fine-tune it again with the bits you want`,
    );
  const reference = { bytes: fakeQuantReference(model, qat), name: 'fake-quantised student (QAT)' };
  const plan: Int8Plan = planInt8(model.graph);
  const stats = new Map<string, TensorStats>();
  for (const v of plan.calibrated) {
    const r = qat.ranges[v.name];
    if (!r)
      throw new UserError(
        `${path}: activation '${v.name}' has no range in the model's QAT record; the graph changed after training`,
      );
    stats.set(v.name, { min: r[0], max: r[1] });
  }
  const minmax = await calibratorNamed('minmax');
  return {
    reference,
    model: quantizeStatic(model, plan, stats, minmax, qat.weightBits),
    calibration: {
      images: qat.images,
      calibrator:
        qat.averaging !== undefined
          ? `${qat.calibrator}, then tracked through QAT by a moving average of constant ${qat.averaging}`
          : `${qat.calibrator}, held through QAT`,
      tensors: plan.calibrated.length,
    },
  };
}
