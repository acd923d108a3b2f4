import { cpus } from 'node:os';
import { join } from 'node:path';
import { compileTrainStep, type CompiledStep, type TermSpec } from '../compiler/trainStep.js';
import type { GroupHyper } from '../compiler/optim/index.js';
import type { Model } from '../ir/model.js';
import { saveModel } from '../ir/model.js';
import { Runtime, type Session } from '../runtime/session.js';
import type { TensorData } from '../runtime/tensor.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { compileEvalGraph, exportTrained, initialState } from './inference.js';
import { countCorrect, oneHot } from './labels.js';
import { EpochBar } from './progress.js';
import { lrAt, type ScheduleSpec } from './schedule.js';
import type { DataSplit, EpochRecord } from './types.js';

// Everything one supervised training run needs; the CLI builds this from flags.
export interface TrainOptions {
  model: Model;
  train: DataSplit;
  val?: DataSplit;
  classes: string[];
  // How inputs were made (normalisation, size, crop), saved in the exported model's metadata.
  preprocess?: unknown;
  epochs: number;
  batchSize: number;
  schedule: ScheduleSpec;
  optimizer: string;
  hyper: GroupHyper;
  noDecay?: 'norm-and-bias' | ((name: string) => boolean);
  terms?: TermSpec[];
  device?: string;
  threads?: number;
  seed: number;
  outDir: string;
  resume?: boolean;
  config?: unknown;
  log?: (line: string) => void;
  progress?: boolean;
}

// The JSON record of a run (run.json).
export interface RunRecord {
  config: unknown;
  device: string;
  compileSeconds: number;
  history: EpochRecord[];
  bestValAcc?: number;
  bestEpoch?: number;
  lastValAcc?: number;
  outputs: { model: string; checkpoint: string };
  interrupted: boolean;
}

// Train one network: compile the step, loop epochs feeding outputs back as inputs, checkpoint, evaluate, export.
export async function train(o: TrainOptions): Promise<RunRecord> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const step = compileTrainStep({
    model: o.model, batch: o.batchSize, terms: o.terms ?? [{ term: 'ce' }], optimizer: o.optimizer, hyper: o.hyper,
    ...(o.noDecay ? { noDecay: o.noDecay } : {}),
  });
  const compileSeconds = (performance.now() - t0) / 1000;
  log(`compiled training step: ${step.params.length} parameter tensors, ${(step.bytes.byteLength / 1e6).toFixed(1)} MB graph, ${compileSeconds.toFixed(2)} s`);
  if (o.classes.length !== step.classes) {
    throw new UserError(`the data has ${o.classes.length} classes but the model outputs ${step.classes} logits`);
  }
  const rt = new Runtime({ device: o.device ?? 'cpu', threads: o.threads ?? cpus().length });
  let interrupted = false;
  const onSigint = () => { interrupted = true; log('interrupt: finishing the current step and saving a checkpoint (Ctrl-C again to abort)'); process.off('SIGINT', onSigint); };
  process.on('SIGINT', onSigint);
  try {
    const stepSession = await rt.session(step.bytes, 'the training step');
    const evalSession = o.val ? await rt.session(compileEvalGraph(o.model), 'the evaluation graph') : undefined;
    const stateNames = [...step.params, ...step.buffers, ...step.slots].map((s) => s.name);
    let meta: CheckpointMeta = { version: 1, epoch: 0, step: 0, batchInEpoch: 0, config: o.config, history: [], reason: 'epoch' };
    if (o.resume) {
      const ck = loadCheckpoint(o.outDir);
      meta = ck.meta;
      await rt.setState(ck.tensors);
      log(`resumed from ${join(o.outDir, 'checkpoint.bin')}: epoch ${meta.epoch}, batch ${meta.batchInEpoch}`);
    } else {
      const init = initialState(o.model, [...step.params, ...step.buffers].map((s) => s.name));
      for (const s of step.slots) init[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
      await rt.setState(init);
    }
    const history = meta.history as EpochRecord[];
    for (let epoch = meta.epoch; epoch < o.epochs && !interrupted; epoch++) {
      const rec = await runEpoch(o, step, stepSession, epoch, meta, () => interrupted);
      if (interrupted) {
        const ck = saveCheckpoint(o.outDir, { ...meta, reason: 'interrupt', history }, await rt.getState(stateNames));
        log(`saved ${ck}; resume with --resume ${o.outDir}`);
        break;
      }
      if (evalSession && o.val) rec.valAcc = await evaluate(evalSession, o.val, o.batchSize, step.classes, step.inputShape, step.inputName);
      history.push(rec);
      meta = { ...meta, epoch: epoch + 1, batchInEpoch: 0, history, reason: 'epoch' };
      saveCheckpoint(o.outDir, meta, await rt.getState(stateNames));
      log(`epoch ${epoch + 1}/${o.epochs}: loss ${rec.loss.toFixed(4)}, train acc ${(rec.trainAcc * 100).toFixed(2)}%` +
        (rec.valAcc !== undefined ? `, val acc ${(rec.valAcc * 100).toFixed(2)}%` : '') + `, ${rec.imagesPerSecond.toFixed(0)} img/s` +
        (rec.dataWaitSeconds > 0.05 * rec.seconds ? ` (${(100 * rec.dataWaitSeconds / rec.seconds).toFixed(0)}% of the epoch waiting for data: the loader is the bottleneck)` : ''));
    }
    const finalState = await rt.getState([...step.params, ...step.buffers].map((s) => s.name));
    const modelPath = join(o.outDir, 'model.onnx');
    if (!interrupted) saveModel(exportTrained(o.model, finalState, o.classes, o.preprocess), modelPath);
    const vals = history.filter((h) => h.valAcc !== undefined);
    const best = vals.reduce<EpochRecord | undefined>((a, h) => (!a || h.valAcc! > a.valAcc! ? h : a), undefined);
    const record: RunRecord = {
      config: o.config, device: stepSession.device, compileSeconds, history, interrupted,
      ...(best ? { bestValAcc: best.valAcc!, bestEpoch: best.epoch, lastValAcc: vals[vals.length - 1]!.valAcc! } : {}),
      outputs: { model: modelPath, checkpoint: join(o.outDir, 'checkpoint.bin') },
    };
    writeFileAtomic(join(o.outDir, 'run.json'), JSON.stringify(record, null, 2));
    return record;
  } finally {
    process.off('SIGINT', onSigint);
    await rt.close();
  }
}

async function runEpoch(o: TrainOptions, step: CompiledStep, s: Session, epoch: number, meta: CheckpointMeta, stop: () => boolean): Promise<EpochRecord> {
  const stepsPerEpoch = Math.floor(o.train.size / o.batchSize);
  if (stepsPerEpoch === 0) throw new UserError(`the training set has ${o.train.size} images, fewer than one batch of ${o.batchSize}`);
  const bar = new EpochBar(epoch, o.epochs, stepsPerEpoch, o.progress ?? false);
  const start = performance.now();
  const skip = epoch === meta.epoch ? meta.batchInEpoch : 0;
  let i = skip, seen = 0, correct = 0, lossSum = 0, lr = 0;
  const termSums: Record<string, number> = Object.fromEntries(step.termNames.map((t) => [t, 0]));
  const fetch = ['loss', 'logits_out', ...step.termNames.map((t) => `term_${t}`)];
  // Time the step spends waiting for its batch: ~0 when the loader's prefetch keeps up.
  let waited = 0, asked = performance.now();
  for await (const batch of o.train.batches({ batchSize: o.batchSize, epoch, seed: o.seed, shuffle: true, dropLast: true, skip })) {
    waited += performance.now() - asked;
    i++;
    lr = lrAt(o.schedule, epoch + (i - 1) / stepsPerEpoch);
    const t = meta.step + 1;
    const feeds: Record<string, TensorData> = {
      [step.inputName]: { type: 'float32', dims: step.inputShape, data: batch.x },
      labels: { type: 'float32', dims: [batch.n, step.classes], data: oneHot(batch.y, batch.n, step.classes) },
      lr: { type: 'float32', dims: [], data: Float32Array.of(lr) },
      ...Object.fromEntries(step.termNames.map((n) => [`w_${n}`, { type: 'float32', dims: [], data: Float32Array.of(1) } as TensorData])),
    };
    if (step.biasCorrection) {
      feeds.bc1 = { type: 'float32', dims: [], data: Float32Array.of(1 - o.hyper.beta1 ** t) };
      feeds.bc2 = { type: 'float32', dims: [], data: Float32Array.of(1 - o.hyper.beta2 ** t) };
    }
    const r = await s.run(feeds, fetch, step.carry);
    const loss = Number(r.loss!.data[0]);
    if (!Number.isFinite(loss)) {
      bar.stop();
      throw new UserError(`the loss became ${loss} at epoch ${epoch + 1}, batch ${i} (lr ${lr}); stopped. The last good checkpoint is kept in ${o.outDir}; try a lower --lr`);
    }
    meta.step = t;
    meta.batchInEpoch = i;
    lossSum += loss * batch.n;
    for (const n of step.termNames) termSums[n]! += Number(r[`term_${n}`]!.data[0]) * batch.n;
    correct += countCorrect(r.logits_out!.data as Float32Array, batch.y, batch.n, step.classes);
    seen += batch.n;
    bar.update(i, { loss: lossSum / seen, acc: correct / seen, imgs: seen / ((performance.now() - start) / 1000) });
    if (stop()) break;
    asked = performance.now();
  }
  bar.stop();
  const seconds = (performance.now() - start) / 1000;
  return {
    epoch: epoch + 1, lr, loss: lossSum / Math.max(seen, 1), trainAcc: correct / Math.max(seen, 1), seconds,
    terms: Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / Math.max(seen, 1)])),
    imagesPerSecond: seen / seconds, dataWaitSeconds: waited / 1000,
  };
}

// Top-1 accuracy of the eval graph (weights read from runtime state) over a split.
export async function evaluate(s: Session, data: DataSplit, batchSize: number, classes: number, inputShape: number[], name: string): Promise<number> {
  let correct = 0, seen = 0;
  for await (const b of data.batches({ batchSize, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
    const r = await s.run({ [name]: { type: 'float32', dims: [b.n, ...inputShape.slice(1)], data: b.x } }, [s.outputNames[0]!]);
    correct += countCorrect(r[s.outputNames[0]!]!.data as Float32Array, b.y, b.n, classes);
    seen += b.n;
  }
  return correct / Math.max(seen, 1);
}
