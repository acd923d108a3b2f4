// A staged run (design.md: "a staged method is a list of such runs whose later stages read what earlier ones
// trained"): each stage is one runNetworks call in its own folder; a finished stage is recorded in stage.json under a
// key (the teacher's bytes and the stage's config, hashed) and reused instead of trained again when the key matches.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Model } from '../ir/model.js';
import { writeFileAtomic } from '../util/fs.js';
import { runNetworks, type RunOptions, type RunRecord } from './loop.js';

// One stage: its name, what its key hashes, and its run built from the models the earlier stages trained.
export interface StageSpec {
  name: string;
  key: unknown;
  // How the stage trains, for the log (`2 epochs, adam lr 0.001 cosine`).
  summary?: string;
  build(trained: Record<string, Model>): Omit<RunOptions, 'outDir' | 'resume' | 'stage'>;
}

export interface StageSummary {
  name: string;
  dir: string;
  reused: boolean;
  record: RunRecord;
}

// The last stage's record plus every stage's.
export interface StagedRecord extends RunRecord {
  stages: StageSummary[];
}

// sha256 of the teacher's bytes and a stage's config: equal keys mean the stage would train the same thing.
export function stageKey(teacherBytes: Uint8Array | undefined, config: unknown): string {
  const h = createHash('sha256');
  if (teacherBytes) h.update(teacherBytes);
  return h.update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

interface Marker {
  name: string;
  key: string;
  outputs: Record<string, string>;
  record: RunRecord;
}

// Run the stages in order: earlier ones in `<out>/stage<i>-<name>-<key>/`, the last one in `<out>` itself (its
// exports are the run's). `resume` continues the first unfinished stage from its checkpoint.
export async function runStages(
  stages: StageSpec[],
  o: { outDir: string; resume?: boolean; teacherBytes?: Uint8Array; log?: (l: string) => void },
): Promise<StagedRecord> {
  const log = o.log ?? (() => {});
  const trained: Record<string, Model> = {};
  const summaries: StageSummary[] = [];
  for (const [i, s] of stages.entries()) {
    const key = stageKey(o.teacherBytes, s.key);
    const last = i === stages.length - 1;
    const dir = last ? o.outDir : join(o.outDir, `stage${i + 1}-${s.name}-${key}`);
    const markerPath = join(dir, 'stage.json');
    const marker =
      !last && existsSync(markerPath) ? (JSON.parse(readFileSync(markerPath, 'utf8')) as Marker) : undefined;
    let record: RunRecord;
    if (marker && marker.key === key && Object.values(marker.outputs).every((f) => existsSync(f))) {
      log(`stage ${i + 1}/${stages.length} (${s.name}): reusing ${dir} (same teacher and stage config)`);
      record = marker.record;
      for (const [net, file] of Object.entries(marker.outputs)) trained[net] = loadModel(file);
      summaries.push({ name: s.name, dir, reused: true, record });
      continue;
    }
    log(`stage ${i + 1}/${stages.length} (${s.name})${s.summary ? `: ${s.summary}` : ''}`);
    const run: RunOptions = {
      ...s.build(trained),
      outDir: dir,
      stage: s.name,
      resume: !!o.resume && existsSync(join(dir, 'checkpoint.bin')),
    };
    record = await runNetworks(run);
    summaries.push({ name: s.name, dir, reused: false, record });
    if (record.interrupted) return { ...record, stages: summaries };
    const outputs = Object.fromEntries(Object.keys(run.exports.files).map((n) => [n, record.outputs[n]!]));
    for (const [net, file] of Object.entries(outputs)) trained[net] = loadModel(file);
    if (!last)
      writeFileAtomic(markerPath, JSON.stringify({ name: s.name, key, outputs, record } satisfies Marker, null, 2));
  }
  return { ...summaries[summaries.length - 1]!.record, stages: summaries };
}
