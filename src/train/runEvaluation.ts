import { compileInference } from '../compiler/inference.js';
import type { NetworkSpec } from '../compiler/network.js';
import type { CompiledStep } from '../compiler/step.js';
import type { Runtime, Session } from '../runtime/session.js';
import type { TensorData } from '../runtime/tensor.js';
import { UserError } from '../util/errors.js';
import {
  collectLogits,
  evaluateFidelity,
  evaluateNetworks,
  type Evaluation,
  type FidelityReference,
} from './evaluate.js';
import { recalibrateBatchNorm } from './recalibrate.js';
import type { EpochRecord, Recalibration, RunOptions } from './types.js';

// The evaluations a run makes outside its epochs: frozen networks measured once, the teacher's logits that
// fidelity compares with, and the accuracy after BatchNorm re-estimation.

// A frozen network's accuracy never changes: measure it once.
export async function evaluateFrozen(
  rt: Runtime,
  frozen: NetworkSpec[],
  o: RunOptions,
  chw: number[],
): Promise<Evaluation> {
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

// The teacher side of fidelity: a frozen network's logits on the split, computed once; a trained one's by name.
export async function fidelityReference(
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

// Re-estimate the BatchNorm statistics into `state` (what is exported) and the runtime (what is evaluated), and
// measure the validation accuracy with them; the checkpoint keeps the trained statistics.
export async function recalibrate(
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

// After an epoch: validation accuracy of every network (frozen ones as measured once) and, on unlabeled data, each
// trained network's agreement with the teacher; written into the epoch's record, the primary network's as headline.
export async function evaluateEpoch(
  rec: EpochRecord,
  evalSession: Session,
  o: RunOptions,
  step: CompiledStep,
  e: { frozen: Evaluation; reference: FidelityReference | undefined; primary: string },
): Promise<void> {
  const chw = step.inputShape.slice(1);
  if (o.val) {
    const ev = await evaluateNetworks(evalSession, o.val, o.batchSize, step.classes, chw);
    for (const [k, v] of Object.entries({ ...e.frozen.networks, ...ev.networks }))
      rec.networks[k] = { ...rec.networks[k], valAcc: v };
    if (ev.ensemble !== undefined) rec.ensembleValAcc = ev.ensemble;
    rec.valAcc = ev.networks[e.primary];
  }
  if (o.fidelity && e.reference !== undefined) {
    const fe = await evaluateFidelity(evalSession, o.fidelity.split, o.batchSize, step.classes, chw, e.reference);
    for (const [k, v] of Object.entries(fe.networks))
      rec.networks[k] = { ...rec.networks[k], agreement: v.agreement, kl: v.kl };
    if (fe.ensemble) rec.ensembleAgreement = fe.ensemble.agreement;
    rec.agreement = fe.networks[e.primary]?.agreement;
    rec.kl = fe.networks[e.primary]?.kl;
  }
}
