import type { Session } from '../runtime/session.js';
import { countCorrect } from './labels.js';
import type { TrainSplit } from './types.js';

// Top-1 accuracy of each network (outputs `logits.<name>`) and of the ensemble (output `ensemble`) on a split.
export interface Evaluation {
  networks: Record<string, number>;
  ensemble?: number;
}

// Run an inference graph from compileInference (image input `input`) over a split, in order, last batch kept;
// `chw` is the image shape [C, H, W]. Weights not baked into the graph come from the runtime's state.
export async function evaluateNetworks(s: Session, data: TrainSplit, batchSize: number, classes: number, chw: number[]): Promise<Evaluation> {
  const outs = s.outputNames;
  const correct = new Map(outs.map((n) => [n, 0]));
  let seen = 0;
  for await (const b of data.batches({ batchSize, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
    const r = await s.run({ input: { type: 'float32', dims: [b.n, ...chw], data: b.x } }, outs);
    for (const n of outs) correct.set(n, correct.get(n)! + countCorrect(r[n]!.data as Float32Array, b.y, b.n, classes));
    seen += b.n;
  }
  const acc = (n: string) => correct.get(n)! / Math.max(seen, 1);
  const networks = Object.fromEntries(outs.filter((n) => n.startsWith('logits.')).map((n) => [n.slice('logits.'.length), acc(n)]));
  return { networks, ...(outs.includes('ensemble') ? { ensemble: acc('ensemble') } : {}) };
}
