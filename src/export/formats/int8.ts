import { batchesOf } from '../../data/modelData.js';
import { parseModel, serializeModel, type Model } from '../../ir/model.js';
import { openRunner } from '../../runtime/inference.js';
import { UserError } from '../../util/errors.js';
import { StageBar } from '../../util/progress.js';
import { calibratorNamed, collectStats } from '../calibrate/index.js';
import { BATCH, DEFAULTS, wholeBatches } from '../defaults.js';
import { planInt8, quantizeDynamic, quantizeStatic } from '../int8.js';
import { checkWeightBits } from '../qdq.js';
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
