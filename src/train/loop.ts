import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { countParameters } from '../analysis/params.js';
import { compileInference } from '../compiler/inference.js';
import type { NetworkSpec } from '../compiler/network.js';
import { compileStep, type CompiledStep } from '../compiler/step.js';
import { writeTrainingCurves } from '../report/index.js';
import { Runtime, type Session } from '../runtime/session.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { termByName } from '../compiler/terms/index.js';
import { loadCheckpoint, newRunId, sameRun, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { writeArtifacts } from './artifacts.js';
import { runEpoch } from './epoch.js';
import { planTeacherCache, TeacherReplay, type EpochReplay } from './teacherCache.js';
import { initialState } from './state.js';
import {
  collectLogits,
  evaluateFidelity,
  evaluateNetworks,
  type Evaluation,
  type FidelityReference,
} from './evaluate.js';
import { exportNetworks } from './exports.js';
import type { EpochRecord, NetworkSummary, Recalibration, RunOptions, RunRecord } from './types.js';
import { recalibrateBatchNorm } from './recalibrate.js';
import type { TensorData } from '../runtime/tensor.js';

// The run's contract lives in types.ts (epoch, artifacts and exports read it too); re-exported for the layers above.
export type { NetworkSummary, RunOptions, RunRecord } from './types.js';
import type { RunTerm } from '../methods/types.js';
import { describeWeightSchedule } from '../methods/weights.js';

// The loss as a printable weighted sum of named terms, e.g. `0.1·ce(student.logits) + 0.9·kd(student.logits ← teacher.logits, τ 4)`.
export function lossFormula(step: CompiledStep, terms: RunTerm[]): string {
  return step.terms
    .map((t, i) => {
      const s = describeWeightSchedule(terms[i]!.schedule);
      return `${terms[i]!.weight}·${t.text}${s ? ` [${s}]` : ''}`;
    })
    .join(' + ');
}

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
      if (evalSession && o.val) {
        const ev = await evaluateNetworks(evalSession, o.val, o.batchSize, step.classes, step.inputShape.slice(1));
        for (const [k, v] of Object.entries({ ...frozenAcc.networks, ...ev.networks }))
          rec.networks[k] = { ...rec.networks[k], valAcc: v };
        if (ev.ensemble !== undefined) rec.ensembleValAcc = ev.ensemble;
        rec.valAcc = ev.networks[primary];
      }
      if (evalSession && o.fidelity && reference !== undefined) {
        const fe = await evaluateFidelity(
          evalSession,
          o.fidelity.split,
          o.batchSize,
          step.classes,
          step.inputShape.slice(1),
          reference,
        );
        for (const [k, v] of Object.entries(fe.networks))
          rec.networks[k] = { ...rec.networks[k], agreement: v.agreement, kl: v.kl };
        if (fe.ensemble) rec.ensembleAgreement = fe.ensemble.agreement;
        rec.agreement = fe.networks[primary]?.agreement;
        rec.kl = fe.networks[primary]?.kl;
      }
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

// Re-estimate the BatchNorm statistics into `state` (what is exported) and the runtime (what is evaluated), and
// measure the validation accuracy with them; the checkpoint keeps the trained statistics.
async function recalibrate(
  rt: Runtime,
  o: RunOptions,
  step: CompiledStep,
  state: Record<string, TensorData>,
  evalSession: Session | undefined,
  log: (l: string) => void,
): Promise<Recalibration> {
  const r = await recalibrateBatchNorm(rt, o, step, state, o.bnRecalibrate!);
  if (!r.batches) {
    log('--bn-recalibrate: the trained networks have no BatchNorm; nothing to re-estimate');
    return { batches: 0, networks: {} };
  }
  Object.assign(state, r.stats);
  await rt.setState(r.stats);
  const ev =
    evalSession && o.val
      ? await evaluateNetworks(evalSession, o.val, o.batchSize, step.classes, step.inputShape.slice(1))
      : undefined;
  const primary = o.networks.find((n) => n.trainable)!.name;
  const acc = ev
    ? `: val acc ${Object.entries(ev.networks)
        .map(([k, v]) => `${k} ${(v * 100).toFixed(2)}%`)
        .join(', ')}`
    : '';
  log(`BatchNorm statistics re-estimated on ${r.batches} training batches (cumulative average)${acc}`);
  return {
    batches: r.batches,
    networks: ev?.networks ?? {},
    ...(ev?.ensemble !== undefined ? { ensemble: ev.ensemble } : {}),
    ...(ev?.networks[primary] !== undefined ? { valAcc: ev.networks[primary] } : {}),
  };
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

// The teacher side of fidelity: a frozen network's logits on the split, computed once; a trained one's by name.
async function fidelityReference(
  rt: Runtime,
  o: RunOptions,
  name: string,
  classes: number,
  chw: number[],
): Promise<FidelityReference> {
  const net = o.networks.find((n) => n.name === name);
  if (!net) throw new Error(`fidelity: no network '${name}'`);
  if (net.trainable) return name;
  const s = await rt.session(compileInference([net]).bytes, `the ${name} network`);
  try {
    return await collectLogits(s, o.fidelity!.split, o.batchSize, classes, chw, `logits.${name}`);
  } finally {
    await s.release();
  }
}

function fidelityFigures(history: EpochRecord[], o: RunOptions): Pick<RunRecord, 'fidelity'> {
  const b = best(history, (h) => h.agreement);
  const last = [...history].reverse().find((h) => h.kl !== undefined);
  if (!b || !o.fidelity || !last) return {};
  return {
    fidelity: {
      reference: o.fidelity.reference,
      images: o.fidelity.split.size,
      bestAgreement: b.bestValAcc,
      bestEpoch: b.bestEpoch,
      lastAgreement: b.lastValAcc,
      lastKl: last.kl!,
    },
  };
}

// A frozen network's accuracy never changes: measure it once.
async function evaluateFrozen(rt: Runtime, frozen: NetworkSpec[], o: RunOptions, chw: number[]): Promise<Evaluation> {
  let s: Session;
  try {
    s = await rt.session(compileInference(frozen).bytes, 'the frozen networks');
  } catch (err: unknown) {
    throw new UserError(
      `onnxruntime cannot run the ${frozen.map((n) => n.name).join(', ')} network forward: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    return await evaluateNetworks(s, o.val!, o.batchSize, o.classes.length, chw);
  } finally {
    await s.release();
  }
}

// The training-curve plot (validation accuracy per network, loss per term); a failed plot never fails a finished run.
async function plotCurves(path: string, history: EpochRecord[], log: (l: string) => void): Promise<string> {
  try {
    await writeTrainingCurves(path, history);
    return path;
  } catch (err: unknown) {
    log(`warning: could not draw ${path}: ${err instanceof Error ? err.message : String(err)}`);
    return '';
  }
}

function epochLine(rec: EpochRecord, epochs: number): string {
  const nets = Object.entries(rec.networks)
    .filter(([, v]) => v.valAcc !== undefined || rec.agreement === undefined)
    .map(([k, v]) => `${k} ${v.valAcc !== undefined ? (v.valAcc * 100).toFixed(2) + '%' : '-'}`);
  if (rec.ensembleValAcc !== undefined) nets.push(`ensemble ${(rec.ensembleValAcc * 100).toFixed(2)}%`);
  const agree = Object.entries(rec.networks)
    .filter(([, v]) => v.agreement !== undefined)
    .map(([k, v]) => `${k} ${(v.agreement! * 100).toFixed(2)}% (KL ${v.kl!.toFixed(4)})`);
  if (rec.ensembleAgreement !== undefined) agree.push(`ensemble ${(rec.ensembleAgreement * 100).toFixed(2)}%`);
  const slow =
    rec.dataWaitSeconds > 0.05 * rec.seconds
      ? ` (${((100 * rec.dataWaitSeconds) / rec.seconds).toFixed(0)}% of the epoch waiting for data: the loader is the bottleneck)`
      : '';
  return (
    `epoch ${rec.epoch}/${epochs}: loss ${rec.loss.toFixed(4)}, train ${rec.agreement !== undefined ? 'agreement' : 'acc'} ${(rec.trainAcc * 100).toFixed(2)}%` +
    (rec.valAcc !== undefined || nets.length ? `, val acc ${nets.join(', ')}` : '') +
    (agree.length ? `, agreement with the teacher ${agree.join(', ')}` : '') +
    `, ${rec.imagesPerSecond.toFixed(0)} img/s${slow}`
  );
}

function best(history: EpochRecord[], acc: (h: EpochRecord) => number | undefined) {
  const vals = history.filter((h) => acc(h) !== undefined);
  if (!vals.length) return undefined;
  const top = vals.reduce((a, h) => (acc(h)! > acc(a)! ? h : a));
  return { bestValAcc: acc(top)!, bestEpoch: top.epoch, lastValAcc: acc(vals[vals.length - 1]!)! };
}

function summaries(networks: NetworkSpec[], history: EpochRecord[], frozen: Evaluation): NetworkSummary[] {
  return networks.map((n) => {
    const params = countParameters(n.model.graph).count;
    const f = frozen.networks[n.name];
    const figures =
      f !== undefined
        ? { bestValAcc: f, bestEpoch: 0, lastValAcc: f }
        : best(history, (h) => h.networks[n.name]?.valAcc);
    const a = best(history, (h) => h.networks[n.name]?.agreement);
    const kl = [...history].reverse().find((h) => h.networks[n.name]?.kl !== undefined)?.networks[n.name]?.kl;
    const fidelity = a
      ? {
          bestAgreement: a.bestValAcc,
          bestAgreementEpoch: a.bestEpoch,
          lastAgreement: a.lastValAcc,
          ...(kl !== undefined ? { lastKl: kl } : {}),
        }
      : {};
    return { name: n.name, role: n.role, trainable: n.trainable, params, ...figures, ...fidelity };
  });
}

function ensembleSummary(history: EpochRecord[]) {
  return best(history, (h) => h.ensembleValAcc) ?? null;
}

function primaryFigures(history: EpochRecord[]) {
  return best(history, (h) => h.valAcc) ?? {};
}
