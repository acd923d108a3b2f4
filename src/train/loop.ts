import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { compileInference } from '../compiler/inference.js';
import { compileStep, type CompiledStep } from '../compiler/step.js';
import { Runtime } from '../runtime/session.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { termByName } from '../compiler/terms/index.js';
import { loadCheckpoint, newRunId, sameRun, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { writeArtifacts } from './artifacts.js';
import { runEpoch } from './epoch.js';
import { planTeacherCache, TeacherReplay, type EpochReplay } from './teacherCache.js';
import { initialState } from './state.js';
import type { Evaluation } from './evaluate.js';
import { exportNetworks } from './exports.js';
import type { CachePlan, EpochRecord, RunOptions, RunRecord } from './types.js';
import { evaluateEpoch, evaluateFrozen, fidelityReference, recalibrate } from './runEvaluation.js';
import {
  ensembleSummary,
  epochLine,
  fidelityFigures,
  lossFormula,
  plotCurves,
  primaryFigures,
  summaries,
} from './runSummary.js';

// The run's contract lives in types.ts (epoch, artifacts and exports read it too); re-exported for the layers above.
export type { NetworkSummary, RunOptions, RunRecord } from './types.js';

// Train every trainable network of a run in one compiled step per batch: checkpoint, evaluate, export, record.
export async function runNetworks(o: RunOptions): Promise<RunRecord> {
  const log = o.log ?? (() => {});
  // Found before compiling (a batch of 100,000 compiles a graph of gigabytes before any batch is drawn).
  if (o.train.size < o.batchSize)
    throw new UserError(
      `--batch-size ${o.batchSize} is larger than the training set (${o.train.size} images): not even one batch`,
      `give --batch-size ${Math.max(1, 2 ** Math.floor(Math.log2(o.train.size)))} or less`,
    );
  if (o.threads !== undefined && o.threads > cpus().length)
    log(
      `warning: --threads ${o.threads} is more than this machine's ${cpus().length} cores; onnxruntime's threads will contend (slower, not faster)`,
    );
  const { step, plan, compileSeconds, formula } = compileRun(o, log);
  const rt = new Runtime({ device: o.device ?? 'cpu', threads: o.threads ?? cpus().length });
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    log('interrupt: finishing the current step and saving a checkpoint (Ctrl-C again to abort)');
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  try {
    // A run that saves its artifacts runs the portable step they contain, so that they repeat it bit for bit; other
    // runs get the device's lowering (the CPU's blocked NCHWc Convs).
    const stepSession = await rt.session(step.bytes, 'the training step', o.saveArtifacts ? { portable: true } : {});
    const trainable = o.networks.filter((n) => n.trainable);
    const frozen = o.networks.filter((n) => !n.trainable);
    const evalGraph = compileInference(trainable, { ...(o.ensemble ? { ensemble: o.ensemble } : {}), feeders: frozen });
    if (o.saveArtifacts) {
      writeArtifacts(o.saveArtifacts, o, step, { ...evalGraph, outputs: evalGraph.graph.outputs.map((v) => v.name) });
      log(`wrote the training artifacts to ${o.saveArtifacts} (contract.json says how to run them)`);
    }
    const evalSession = o.val || o.fidelity ? await rt.session(evalGraph.bytes, 'the evaluation graph') : undefined;
    const stateNames = [...step.params, ...step.buffers, ...step.slots].map((s) => s.name);
    let meta: CheckpointMeta = {
      version: 1,
      epoch: 0,
      step: 0,
      batchInEpoch: 0,
      config: o.config,
      history: [],
      reason: 'epoch',
      ...(o.stage ? { stage: o.stage } : {}),
      runId: o.runId ?? newRunId(),
    };
    meta = await startState(rt, o, step, stateNames, meta, log);
    const frozenAcc: Evaluation =
      o.val && frozen.length ? await evaluateFrozen(rt, frozen, o, step.inputShape.slice(1)) : { networks: {} };
    const reference = o.fidelity
      ? await fidelityReference(rt, o, o.fidelity.reference, step.classes, step.inputShape.slice(1))
      : undefined;
    const cache = plan?.replay.length
      ? await TeacherReplay.open(rt, {
          ...o,
          dir: o.teacherCache!,
          inputs: step.logitInputs,
          classes: step.classes,
          chw: step.inputShape.slice(1),
        })
      : undefined;
    if (cache)
      log(
        `teacher cache: ${plan!.replay.join(', ')} replayed from ${Object.values(cache.dirs).join(', ')} (${cache.storedEpochs(o.epochs)} of ${o.epochs} epochs stored)`,
      );
    const history = meta.history as EpochRecord[];
    const primary = trainable[0]!.name;
    for (let epoch = meta.epoch; epoch < o.epochs && !interrupted; epoch++) {
      const replay = cache?.epoch(epoch);
      const rec = await runReplayedEpoch(replay, () =>
        runEpoch({
          o,
          step,
          session: stepSession,
          epoch,
          meta,
          stop: () => interrupted,
          primary,
          ...(replay ? { replay } : {}),
        }),
      );
      if (interrupted) {
        const ck = saveCheckpoint(o.outDir, { ...meta, reason: 'interrupt', history }, await rt.getState(stateNames));
        log(`saved ${ck}; resume with --resume ${o.outDir}`);
        break;
      }
      if (evalSession) await evaluateEpoch(rec, evalSession, o, step, { frozen: frozenAcc, reference, primary });
      history.push(rec);
      meta = { ...meta, epoch: epoch + 1, batchInEpoch: 0, history, reason: 'epoch' };
      saveCheckpoint(o.outDir, meta, await rt.getState(stateNames));
      log(epochLine(rec, o.epochs));
    }
    const finalState = await rt.getState([...step.params, ...step.buffers].map((s) => s.name));
    const recal =
      o.bnRecalibrate && !interrupted && history.length
        ? await recalibrate(rt, o, step, finalState, evalSession, log)
        : undefined;
    const outputs = interrupted ? {} : exportNetworks(o, step, finalState);
    const record: RunRecord = {
      config: o.config,
      device: stepSession.device,
      compileSeconds,
      loss: formula,
      history,
      interrupted,
      ...(meta.runId ? { runId: meta.runId } : {}),
      networks: summaries(o.networks, history, frozenAcc),
      ensemble: ensembleSummary(history),
      ...primaryFigures(history),
      ...fidelityFigures(history, o),
      outputs: { ...outputs, checkpoint: join(o.outDir, 'checkpoint.bin') },
      ...(plan ? { teacherCache: { dirs: cache?.dirs ?? {}, bypassed: plan.bypassed } } : {}),
      ...(recal ? { bnRecalibrated: recal } : {}),
    };
    if (history.length && !interrupted)
      record.outputs.curves = await plotCurves(join(o.outDir, 'training-curves.png'), history, log);
    writeFileAtomic(join(o.outDir, 'run.json'), JSON.stringify(record, null, 2));
    await cache?.close();
    return record;
  } finally {
    process.off('SIGINT', onSigint);
    await rt.close();
  }
}

// An epoch with its cache files: published when the epoch ends or is interrupted, dropped when it fails.
async function runReplayedEpoch(
  replay: EpochReplay | undefined,
  run: () => Promise<EpochRecord>,
): Promise<EpochRecord> {
  let rec: EpochRecord;
  try {
    rec = await run();
  } catch (err: unknown) {
    replay?.discard();
    throw err;
  }
  replay?.close();
  if (replay) rec.teacherCache = { ...replay.counts };
  return rec;
}

// The state the run starts from: with --resume, the checkpoint's (checked to be this run's and this stage's), else
// the step's initial state; the returned meta says where the run stands.
async function startState(
  rt: Runtime,
  o: RunOptions,
  step: CompiledStep,
  stateNames: string[],
  meta: CheckpointMeta,
  log: (l: string) => void,
): Promise<CheckpointMeta> {
  if (o.resume) {
    const ck = loadCheckpoint(o.outDir);
    sameRun(o.outDir, o.runId, ck.meta.runId);
    const missing = stateNames.filter((n) => !ck.tensors[n]);
    if (missing.length)
      throw new UserError(
        `${join(o.outDir, 'checkpoint.bin')} does not match this run: it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} (same networks, terms and options as the interrupted run are needed)`,
      );
    if ((ck.meta.stage ?? undefined) !== o.stage)
      throw new UserError(
        `${join(o.outDir, 'checkpoint.bin')} belongs to stage '${ck.meta.stage ?? '(none)'}', not to stage '${o.stage ?? '(none)'}'`,
      );
    meta = ck.meta;
    await rt.setState(ck.tensors);
    log(
      `resumed from ${join(o.outDir, 'checkpoint.bin')}${o.stage ? ` (stage ${o.stage})` : ''}: epoch ${meta.epoch}, batch ${meta.batchInEpoch}`,
    );
  } else {
    // A fresh run's record replaces any earlier run's: never a run.json of one run beside another's checkpoint.
    rmSync(join(o.outDir, 'run.json'), { force: true });
    await rt.setState(initialState(step));
  }
  return meta;
}

// The run's training step, compiled once (teacher-cache replay inputs included), checked against the data, and logged
// with its loss formula.
function compileRun(
  o: RunOptions,
  log: (l: string) => void,
): { step: CompiledStep; plan: CachePlan | undefined; compileSeconds: number; formula: string } {
  const t0 = performance.now();
  const plan = o.teacherCache ? planTeacherCache(o.networks, o.terms, o.train) : undefined;
  for (const b of plan?.bypassed ?? []) log(`teacher cache: not used for '${b.network}': ${b.reason}`);
  const step = compileStep({
    networks: o.networks,
    terms: o.terms,
    batch: o.batchSize,
    optimizer: o.optimizer,
    hyper: o.hyper,
    seed: o.seed,
    ...(plan?.replay.length ? { logitInputs: plan.replay } : {}),
    ...(o.pseudoLabels ? { pseudoLabels: o.pseudoLabels } : {}),
  });
  if (o.unlabeled && step.labels.from === 'input')
    throw new UserError(
      `the training data has no labels, but ${step.terms
        .filter((t) => termByName(t.term).needsLabels)
        .map((t) => t.name)
        .join(', ')} read them`,
    );
  const compileSeconds = (performance.now() - t0) / 1000;
  if (o.classes.length !== step.classes)
    throw new UserError(`the data has ${o.classes.length} classes but the networks output ${step.classes} logits`);
  const formula = lossFormula(step, o.terms);
  log(
    `compiled training step: ${o.networks.length} network(s), ${step.params.length} parameter tensors, ${(step.bytes.byteLength / 1e6).toFixed(1)} MB graph, ${compileSeconds.toFixed(2)} s`,
  );
  log(`loss = ${formula}`);
  return { step, plan, compileSeconds, formula };
}
