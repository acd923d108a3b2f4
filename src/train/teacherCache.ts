// The teacher cache (FKD, arXiv 2112.01528; design.md "Teacher cache"): a frozen teacher's logits on a training sample
// depend only on its bytes, the data and the sample's augmentation, which is fixed by (seed, epoch, sample). So they
// are computed once per epoch, stored under `<dir>/<key>/epoch-<e>.bin` (key: sha256 of the teacher's bytes, the
// split's identity, the seed and the number of classes), and replayed by later epochs and runs without the teacher.
// The step is compiled with the teacher's logits as an input (compileStep `logitInputs`); a batch whose rows are not
// all stored runs a teacher-only inference session and stores them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileInference } from '../compiler/inference.js';
import type { NetworkSpec } from '../compiler/network.js';
import { replayableNetworks } from '../compiler/replay.js';
import type { TermUse } from '../compiler/step.js';
import { serializeModel } from '../ir/model.js';
import type { Runtime, Session } from '../runtime/session.js';
import type { TensorData } from '../runtime/tensor.js';
import { writeFileAtomic } from '../util/fs.js';
import { LogitStore } from './logitStore.js';
import type { TrainBatch, CachePlan, TrainSplit } from './types.js';

export function planTeacherCache(networks: NetworkSpec[], terms: TermUse[], train: TrainSplit): CachePlan {
  const plan = replayableNetworks(networks, terms);
  if (!train.identity && plan.replay.length) {
    return {
      replay: [],
      bypassed: [
        ...plan.bypassed,
        ...plan.replay.map((network) => ({
          network,
          reason: 'the training data does not say what its pixels depend on (no identity), so nothing could be keyed',
        })),
      ],
    };
  }
  return plan;
}

// The cache key of one frozen network on one training split and seed, and what it hashes (written as key.json).
export function cacheKey(
  net: NetworkSpec,
  train: TrainSplit,
  seed: number,
  classes: number,
): { key: string; covers: Record<string, unknown> } {
  const teacher = createHash('sha256').update(serializeModel(net.model).onnx).digest('hex');
  const covers = { format: 1, teacher, data: train.identity!(), samples: train.size, seed, classes };
  return { key: createHash('sha256').update(JSON.stringify(covers)).digest('hex').slice(0, 24), covers };
}

// Per-epoch counts of batches replayed (hits) and batches the teacher ran on (misses).
export interface CacheCounts {
  hits: number;
  misses: number;
}

interface Replayed {
  name: string;
  input: string;
  dir: string;
  session: Session;
}

// The replayed networks of one run: their teacher-only sessions and cache folders.
export class TeacherReplay {
  private constructor(
    private nets: Replayed[],
    private samples: number,
    private classes: number,
    private chw: number[],
  ) {}

  static async open(
    rt: Runtime,
    o: {
      networks: NetworkSpec[];
      train: TrainSplit;
      seed: number;
      dir: string;
      inputs: Record<string, string>;
      classes: number;
      chw: number[];
    },
  ): Promise<TeacherReplay> {
    const nets: Replayed[] = [];
    for (const [name, input] of Object.entries(o.inputs)) {
      const spec = o.networks.find((n) => n.name === name)!;
      const { key, covers } = cacheKey(spec, o.train, o.seed, o.classes);
      const dir = join(o.dir, key);
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(dir, 'key.json'))) writeFileAtomic(join(dir, 'key.json'), JSON.stringify(covers, null, 2));
      const session = await rt.session(
        compileInference([spec], { plainOutput: true }).bytes,
        `the ${name} network (teacher cache)`,
      );
      nets.push({ name, input, dir, session });
    }
    return new TeacherReplay(nets, o.train.size, o.classes, o.chw);
  }

  get dirs(): Record<string, string> {
    return Object.fromEntries(this.nets.map((n) => [n.name, n.dir]));
  }

  // How many epochs of `epochs` each network has a file for.
  storedEpochs(epochs: number): number {
    let n = 0;
    for (let e = 0; e < epochs; e++) if (this.nets.every((t) => existsSync(epochFile(t.dir, e)))) n++;
    return n;
  }

  epoch(e: number): EpochReplay {
    return new EpochReplay(
      this.nets.map((n) => ({ net: n, store: new LogitStore(epochFile(n.dir, e), this.samples, this.classes) })),
      this.classes,
      this.chw,
    );
  }

  async close(): Promise<void> {
    for (const n of this.nets) await n.session.release();
  }
}

function epochFile(dir: string, e: number): string {
  return join(dir, `epoch-${e}.bin`);
}

// One epoch of replay: the feeds of each batch from the stored rows, or from the teacher (then stored).
export class EpochReplay {
  readonly counts: CacheCounts = { hits: 0, misses: 0 };

  constructor(
    private stores: { net: Replayed; store: LogitStore }[],
    private classes: number,
    private chw: number[],
  ) {}

  async feeds(batch: TrainBatch): Promise<Record<string, TensorData>> {
    if (!batch.indices)
      throw new Error('the teacher cache needs batches that say which samples they hold (TrainBatch.indices)');
    const idx = batch.indices;
    const feeds: Record<string, TensorData> = {};
    let missed = false;
    for (const { net, store } of this.stores) {
      let rows: Float32Array;
      if (store.has(idx)) {
        rows = new Float32Array(batch.n * this.classes);
        store.read(idx, rows);
      } else {
        missed = true;
        const r = await net.session.run({ input: { type: 'float32', dims: [batch.n, ...this.chw], data: batch.x } }, [
          'logits',
        ]);
        rows = r.logits!.data as Float32Array;
        store.write(idx, rows);
      }
      feeds[net.input] = { type: 'float32', dims: [batch.n, this.classes], data: rows };
    }
    if (missed) this.counts.misses++;
    else this.counts.hits++;
    return feeds;
  }

  // Publish what this epoch stored (also after an interrupt: every stored row is valid).
  close(): void {
    for (const s of this.stores) s.store.close();
  }

  discard(): void {
    for (const s of this.stores) s.store.discard();
  }
}
