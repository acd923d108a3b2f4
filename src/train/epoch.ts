import type { CompiledStep } from '../compiler/step.js';
import type { Session } from '../runtime/session.js';
import type { TensorData } from '../runtime/tensor.js';
import { UserError } from '../util/errors.js';
import type { CheckpointMeta } from './checkpoint.js';
import { argmaxRows } from '../eval/metrics.js';
import { countCorrect, targets } from './labels.js';
import type { RunOptions, TrainBatch } from './types.js';
import { EpochBar } from '../util/progress.js';
import { lrAt } from './schedule.js';
import type { EpochReplay } from './teacherCache.js';
import type { EpochRecord } from './types.js';
import { weightAt } from '../methods/weights.js';
import { termByName, termInputAt } from '../compiler/terms/index.js';

const scalar = (v: number): TensorData => ({ type: 'float32', dims: [], data: Float32Array.of(v) });

// What one epoch of the loop needs; `meta` is advanced in place (step and batch counters for checkpoints).
export interface EpochContext {
  o: RunOptions;
  step: CompiledStep;
  session: Session;
  epoch: number;
  meta: CheckpointMeta;
  stop: () => boolean;
  primary: string;
  // Feeds the replayed teachers' logits (the teacher cache).
  replay?: EpochReplay;
}

// The per-batch int64 inputs terms declare (CRD's sample and negative indices), made by the host for this batch.
function batchInputs(step: CompiledStep, o: RunOptions, batch: TrainBatch, done: number): Record<string, TensorData> {
  if (!step.batchInputs.length) return {};
  if (!batch.indices)
    throw new Error('terms with per-batch inputs need batches that say which samples they hold (TrainBatch.indices)');
  const ctx = {
    indices: batch.indices,
    labels: batch.y,
    size: o.train.size,
    seed: o.seed,
    step: done,
    ...(o.train.labelOf ? { labelOf: o.train.labelOf } : {}),
  };
  return Object.fromEntries(
    step.batchInputs.map((e) => {
      const def = termByName(e.term).batchInputs![e.key]!;
      return [
        e.input,
        { type: 'int64', dims: def.shape(batch.n, e.options), data: def.make(ctx, e.options) } as TensorData,
      ];
    }),
  );
}

// One pass over the training split: feed each batch with the epoch's lr and term weights, carry the state.
export async function runEpoch({
  o,
  step,
  session,
  epoch,
  meta,
  stop,
  primary,
  replay,
}: EpochContext): Promise<EpochRecord> {
  const stepsPerEpoch = Math.floor(o.train.size / o.batchSize);
  if (stepsPerEpoch === 0)
    throw new UserError(`the training set has ${o.train.size} images, fewer than one batch of ${o.batchSize}`);
  const trainable = o.networks.filter((n) => n.trainable).map((n) => n.name);
  const bar = new EpochBar(
    epoch,
    o.epochs,
    stepsPerEpoch,
    o.progress ?? false,
    step.terms.length > 1 ? step.terms.map((t) => t.name) : [],
    o.unlabeled ? 'agree' : 'acc',
  );
  const start = performance.now();
  const skip = epoch === meta.epoch ? meta.batchInEpoch : 0;
  const weights = Object.fromEntries(o.terms.map((t) => [t.name, weightAt(t.weight, t.schedule, epoch)]));
  const inputs = Object.fromEntries(step.termInputs.map((e) => [e.input, scalar(termInputAt(e, epoch))]));
  let i = skip,
    seen = 0,
    lossSum = 0,
    lr = 0;
  const correct: Record<string, number> = Object.fromEntries(trainable.map((n) => [n, 0]));
  const termSums: Record<string, number> = Object.fromEntries(step.terms.map((t) => [t.name, 0]));
  const fetch = ['loss', ...trainable.map((n) => step.logits[n]!), ...step.terms.map((t) => `term_${t.name}`)];
  // Unlabeled data: training accuracy is agreement with the reference (teacher) network's argmax.
  const ref = o.fidelity?.reference;
  if (o.unlabeled && ref && step.logits[ref] && !fetch.includes(step.logits[ref])) fetch.push(step.logits[ref]);
  // Time the step spends waiting for its batch: ~0 when the loader's prefetch keeps up.
  let waited = 0,
    asked = performance.now();
  for await (const batch of o.train.batches({
    batchSize: o.batchSize,
    epoch,
    seed: o.seed,
    shuffle: true,
    dropLast: true,
    skip,
  })) {
    waited += performance.now() - asked;
    i++;
    lr = lrAt(o.schedule, epoch + (i - 1) / stepsPerEpoch);
    const t = meta.step + 1;
    const feeds: Record<string, TensorData> = {
      [step.inputName]: { type: 'float32', dims: step.inputShape, data: batch.x },
      ...(step.labels.from === 'input'
        ? {
            labels: {
              type: 'float32',
              dims: [batch.n, step.classes],
              data: targets(batch.y, batch.n, step.classes, batch.mix),
            } as TensorData,
          }
        : {}),
      lr: scalar(lr),
      ...Object.fromEntries(step.terms.map((term) => [`w_${term.name}`, scalar(weights[term.name]!)])),
      ...inputs,
    };
    if (replay) Object.assign(feeds, await replay.feeds(batch));
    Object.assign(feeds, batchInputs(step, o, batch, meta.step));
    if (step.biasCorrection) {
      feeds.bc1 = scalar(1 - o.hyper.beta1 ** t);
      feeds.bc2 = scalar(1 - o.hyper.beta2 ** t);
    }
    const r = await session.run(feeds, fetch, step.carry);
    const loss = Number(r.loss!.data[0]);
    if (!Number.isFinite(loss)) {
      bar.stop();
      const kept =
        meta.epoch > 0 || o.resume
          ? `the last good checkpoint (epoch ${meta.epoch}, batch ${meta.batchInEpoch}) is kept in ${o.outDir}`
          : 'no checkpoint was saved (none is written before the first epoch ends)';
      throw new UserError(
        `the loss became ${loss} at epoch ${epoch + 1}, batch ${i} (lr ${lr}); stopped: ${kept}`,
        'try a lower --lr',
      );
    }
    meta.step = t;
    meta.batchInEpoch = i;
    lossSum += loss * batch.n;
    for (const term of step.terms) termSums[term.name]! += Number(r[`term_${term.name}`]!.data[0]) * batch.n;
    const y =
      o.unlabeled && ref
        ? argmaxRows(
            (step.logits[ref] ? r[step.logits[ref]]! : feeds[step.logitInputs[ref]!]!).data as Float32Array,
            batch.n,
            step.classes,
          )
        : batch.y;
    for (const n of trainable)
      correct[n]! += countCorrect(r[step.logits[n]!]!.data as Float32Array, y, batch.n, step.classes);
    seen += batch.n;
    bar.update(i, {
      loss: lossSum / seen,
      acc: correct[primary]! / seen,
      imgs: seen / ((performance.now() - start) / 1000),
      terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / seen])),
    });
    if (stop()) break;
    asked = performance.now();
  }
  bar.stop();
  const seconds = (performance.now() - start) / 1000;
  const per = (v: number) => v / Math.max(seen, 1);
  return {
    epoch: epoch + 1,
    lr,
    loss: per(lossSum),
    trainAcc: per(correct[primary]!),
    seconds,
    weights,
    terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, per(v)])),
    networks: Object.fromEntries(trainable.map((n) => [n, { trainAcc: per(correct[n]!) }])),
    imagesPerSecond: seen / seconds,
    dataWaitSeconds: waited / 1000,
  };
}
