import type { Session } from '../runtime/session.js';
import { FidelityMeter, type FidelityReport } from '../eval/metrics.js';
import { countCorrect } from './labels.js';
import type { TrainSplit } from './types.js';

// Top-1 accuracy of each network (outputs `logits.<name>`) and of the ensemble (output `ensemble`) on a split.
export interface Evaluation {
  networks: Record<string, number>;
  ensemble?: number;
}

// Run an inference graph from compileInference (image input `input`) over a split, in order, last batch kept;
// `chw` is the image shape [C, H, W]. Weights not baked into the graph come from the runtime's state.
export async function evaluateNetworks(
  s: Session,
  data: TrainSplit,
  batchSize: number,
  classes: number,
  chw: number[],
): Promise<Evaluation> {
  const outs = s.outputNames;
  const correct = new Map(outs.map((n) => [n, 0]));
  let seen = 0;
  for await (const b of data.batches({ batchSize, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
    const r = await s.run({ input: { type: 'float32', dims: [b.n, ...chw], data: b.x } }, outs);
    for (const n of outs) correct.set(n, correct.get(n)! + countCorrect(r[n]!.data as Float32Array, b.y, b.n, classes));
    seen += b.n;
  }
  const acc = (n: string) => correct.get(n)! / Math.max(seen, 1);
  const networks = Object.fromEntries(
    outs.filter((n) => n.startsWith('logits.')).map((n) => [n.slice('logits.'.length), acc(n)]),
  );
  return { networks, ...(outs.includes('ensemble') ? { ensemble: acc('ensemble') } : {}) };
}

// Agreement and KL(teacher ‖ network) of each network and the ensemble on a split with no labels that count.
export interface FidelityEvaluation {
  networks: Record<string, FidelityReport>;
  ensemble?: FidelityReport;
}

// The teacher side of fidelity: its logits on the split, in order (computed once for a frozen teacher), or the
// eval graph's output `logits.<name>` for a teacher trained in the run.
export type FidelityReference = Float32Array | string;

// Run the eval graph over a split in order and compare every network's logits with the reference's.
export async function evaluateFidelity(
  s: Session,
  data: TrainSplit,
  batchSize: number,
  classes: number,
  chw: number[],
  reference: FidelityReference,
): Promise<FidelityEvaluation> {
  const outs = s.outputNames;
  const refOut = typeof reference === 'string' ? `logits.${reference}` : undefined;
  const compared = outs.filter((n) => n !== refOut);
  const meters = new Map(compared.map((n) => [n, new FidelityMeter(classes)]));
  let seen = 0;
  for await (const b of data.batches({ batchSize, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
    const r = await s.run({ input: { type: 'float32', dims: [b.n, ...chw], data: b.x } }, outs);
    const t = refOut
      ? (r[refOut]!.data as Float32Array)
      : (reference as Float32Array).subarray(seen * classes, (seen + b.n) * classes);
    for (const n of compared) meters.get(n)!.add(r[n]!.data as Float32Array, t, b.n);
    seen += b.n;
  }
  const networks = Object.fromEntries(
    compared.filter((n) => n.startsWith('logits.')).map((n) => [n.slice('logits.'.length), meters.get(n)!.report()]),
  );
  return { networks, ...(meters.has('ensemble') ? { ensemble: meters.get('ensemble')!.report() } : {}) };
}

// One output's logits over a split, in order (a frozen teacher's, the reference of fidelity).
export async function collectLogits(
  s: Session,
  data: TrainSplit,
  batchSize: number,
  classes: number,
  chw: number[],
  output: string,
): Promise<Float32Array> {
  const out = new Float32Array(data.size * classes);
  let seen = 0;
  for await (const b of data.batches({ batchSize, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
    const r = await s.run({ input: { type: 'float32', dims: [b.n, ...chw], data: b.x } }, [output]);
    out.set((r[output]!.data as Float32Array).subarray(0, b.n * classes), seen * classes);
    seen += b.n;
  }
  return out.subarray(0, seen * classes);
}
