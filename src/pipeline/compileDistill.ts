import { join } from 'node:path';
import { compileInference } from '../compiler/inference.js';
import { compileStep, type CompiledStep } from '../compiler/step.js';
import { writeArtifacts, type ArtifactContract } from '../train/artifacts.js';
import type { RunOptions } from '../train/loop.js';
import { termByName } from '../compiler/terms/index.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { CliContext } from '../util/output.js';
import type { TrainingData } from './data.js';
import { prepareDistill } from './distill.js';
import { resolveWithSource } from './distillConfig.js';
import type { DistillOptions } from './options.js';
import { dryBuild, stageFolder } from './staged.js';

// `onnx-distill compile`: what a distill run would execute, compiled and written as artifacts (step graph, eval
// graph, initial state, contract) for another runtime to train, without training here.

// What `compile` writes for a staged method: one artifact folder per stage, in order (also listed in stages.json).
export interface StagedArtifacts {
  format: 'onnx-distill-staged-artifacts/1';
  stages: {
    name: string;
    dir: string;
    trains: string[];
    handedOver: string[];
    exports: string[];
    contract: ArtifactContract;
  }[];
  note: string;
}

const STAGED_NOTE =
  'run the stages in order. A network an earlier stage hands over (handedOver) was compiled into the later stage untrained: ' +
  "the parts the later stage trains are state inputs of the same names (feed the earlier stage's final values instead of initial_state.onnx); " +
  'the parts it keeps frozen are constants inside its train_step.onnx, so recompile it once the earlier stage has trained, or use distill --save-artifacts, which writes every stage with the trained weights';

// Compile what a distill run would execute and write it as artifacts to `dir`, without training (`onnx-distill compile`).
// A staged method gets one folder per stage (stage<i>-<name>/); a later stage is compiled on the untrained networks
// the earlier stages would hand over (see StagedArtifacts.note).
export async function compileDistill(
  options: DistillOptions & { config?: string },
  dir: string,
  ctx?: CliContext,
): Promise<ArtifactContract | StagedArtifacts> {
  const { cfg, where, recipe } = resolveWithSource(options);
  if (recipe) ctx?.log(recipe);
  const { run, staged } = await prepareDistill({ ...cfg, saveArtifacts: dir }, ctx, where);
  if (!staged) return compileRun(run, dir).contract;
  const handed = new Set<string>();
  const stages = dryBuild(staged.stages).map((r, i) => {
    const name = staged.stages[i]!.name;
    const sub = stageFolder(i, name);
    const stage = {
      name,
      dir: sub,
      trains: r.networks.filter((n) => n.trainable).map((n) => n.name),
      handedOver: r.networks.filter((n) => handed.has(n.name)).map((n) => n.name),
      exports: Object.keys(r.exports.files),
      contract: compileRun({ ...r, outDir: run.outDir }, join(dir, sub)).contract,
    };
    for (const n of stage.exports) handed.add(n);
    return stage;
  });
  const out: StagedArtifacts = { format: 'onnx-distill-staged-artifacts/1', stages, note: STAGED_NOTE };
  writeFileAtomic(
    join(dir, 'stages.json'),
    JSON.stringify({ ...out, stages: stages.map(({ contract: _c, ...s }) => s) }, null, 2),
  );
  return out;
}

// `compile` for data opened elsewhere (a browser page's images, decoded in the page; only their count, classes and
// normalisation reach here): the artifacts in `dir`, and the run and step kept so the caller can export what the
// page trains. One-stage methods only: a staged method's later stages need the earlier ones' trained weights.
export async function compileDistillOn(
  options: DistillOptions,
  data: TrainingData,
  dir: string,
): Promise<{ run: RunOptions; step: CompiledStep; contract: ArtifactContract }> {
  const { cfg, where } = resolveWithSource({ ...options, out: dir });
  const { run, staged } = await prepareDistill({ ...cfg, saveArtifacts: dir }, undefined, where, data);
  if (staged)
    throw new UserError(
      `--method ${cfg.method}: a staged method trains its stages one after another; run it with \`onnx-distill distill\``,
    );
  const hostFed = run.terms.filter((t) => termByName(t.term).batchInputs);
  if (hostFed.length)
    throw new UserError(
      `--method ${cfg.method}: term ${hostFed.map((t) => t.name).join(', ')} reads per-batch inputs (sample indices and negatives) that only onnx-distill's own loop makes; run it with \`onnx-distill distill\``,
    );
  return { run, ...compileRun(run, dir) };
}

// The step and eval graphs of one run, written as artifacts.
function compileRun(run: RunOptions, dir: string): { step: CompiledStep; contract: ArtifactContract } {
  const step = compileStep({
    networks: run.networks,
    terms: run.terms,
    batch: run.batchSize,
    optimizer: run.optimizer,
    hyper: run.hyper,
    seed: run.seed,
    ...(run.pseudoLabels ? { pseudoLabels: run.pseudoLabels } : {}),
  });
  const ev = compileInference(
    run.networks.filter((n) => n.trainable),
    { ...(run.ensemble ? { ensemble: run.ensemble } : {}), feeders: run.networks.filter((n) => !n.trainable) },
  );
  return { step, contract: writeArtifacts(dir, run, step, { ...ev, outputs: ev.graph.outputs.map((v) => v.name) }) };
}
