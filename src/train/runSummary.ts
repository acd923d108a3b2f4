import { countParameters } from '../analysis/params.js';
import type { NetworkSpec } from '../compiler/network.js';
import type { CompiledStep } from '../compiler/step.js';
import type { RunTerm } from '../methods/types.js';
import { describeWeightSchedule } from '../methods/weights.js';
import { writeTrainingCurves } from '../report/index.js';
import type { Evaluation } from './evaluate.js';
import type { EpochRecord, NetworkSummary, RunOptions, RunRecord } from './types.js';

// What a run says about itself: the loss formula, one log line per epoch, and the best and last figures of each
// network (accuracy, fidelity to the teacher) that run.json records, with the training-curve plot.

// The loss as a printable weighted sum of named terms, e.g. `0.1·ce(student.logits) + 0.9·kd(student.logits ← teacher.logits, τ 4)`.
export function lossFormula(step: CompiledStep, terms: RunTerm[]): string {
  return step.terms
    .map((t, i) => {
      const s = describeWeightSchedule(terms[i]!.schedule);
      return `${terms[i]!.weight}·${t.text}${s ? ` [${s}]` : ''}`;
    })
    .join(' + ');
}

// The training-curve plot (validation accuracy per network, loss per term); a failed plot never fails a finished run.
export async function plotCurves(path: string, history: EpochRecord[], log: (l: string) => void): Promise<string> {
  try {
    await writeTrainingCurves(path, history);
    return path;
  } catch (err: unknown) {
    log(`warning: could not draw ${path}: ${err instanceof Error ? err.message : String(err)}`);
    return '';
  }
}

// One epoch's log line: loss, train and val accuracy per network, agreement with the teacher, throughput.
export function epochLine(rec: EpochRecord, epochs: number): string {
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

// The best and last of a per-epoch figure, or undefined when no epoch measured it.
function best(history: EpochRecord[], acc: (h: EpochRecord) => number | undefined) {
  const vals = history.filter((h) => acc(h) !== undefined);
  if (!vals.length) return undefined;
  const top = vals.reduce((a, h) => (acc(h)! > acc(a)! ? h : a));
  return { bestValAcc: acc(top)!, bestEpoch: top.epoch, lastValAcc: acc(vals[vals.length - 1]!)! };
}

// Each network's best and last validation figures (a frozen network's measured once), with its size.
export function summaries(networks: NetworkSpec[], history: EpochRecord[], frozen: Evaluation): NetworkSummary[] {
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

// The students' ensemble's best and last accuracy, or null without an ensemble.
export function ensembleSummary(history: EpochRecord[]) {
  return best(history, (h) => h.ensembleValAcc) ?? null;
}

// The first trained network's best and last accuracy, the run's headline figures.
export function primaryFigures(history: EpochRecord[]) {
  return best(history, (h) => h.valAcc) ?? {};
}

// On unlabeled data: the primary network's agreement with the teacher, best and last, and its last KL.
export function fidelityFigures(history: EpochRecord[], o: RunOptions): Pick<RunRecord, 'fidelity'> {
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
