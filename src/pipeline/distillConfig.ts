import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveResumable } from '../config/resolve.js';
import { COMMON_OPTIONS, DISTILL_OPTIONS } from '../config/options.js';
import { configToYaml, loadConfigFile, locateKey } from '../config/file.js';
import { defaultLrUpdate } from '../train/schedule.js';
import { configRunId, newRunId } from '../train/checkpoint.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { META_METHOD, META_TEACHER_SHA256 } from '../ir/metadata.js';
import type { DistillOptions } from './options.js';
import { applyRecipe, explicitKeys } from './recipe.js';

// A distill run's config and its provenance: where each setting came from (defaults, a config file, a resumed run's
// saved config, flags), the copy saved beside the run, and the hashes recorded in every exported student.

const ALL_OPTIONS = [...COMMON_OPTIONS, ...DISTILL_OPTIONS];

// Where a config key was written (`run.yaml:7: 'stages.heads.lr'`), so errors found after resolution name the line.
export type KeyLocator = (key: string[]) => string;

// Options as given (library call or parsed flags) -> the resolved config: defaults, then `config` file, then these.
// `--resume DIR` starts from the config that run saved (DIR/config.yaml), so resuming needs no other flag.
export function resolveDistillConfig(given: DistillOptions & { config?: string }): DistillOptions {
  return resolveWithSource(given).cfg;
}

// The resolved config, where its `stages:` keys were written (file:line) for errors found later, and the recipe note.
export function resolveWithSource(given: DistillOptions & { config?: string }): {
  cfg: DistillOptions;
  where: KeyLocator;
  recipe?: string;
} {
  const { cfg, flags, config, base, saved } = resolveResumable(ALL_OPTIONS, given);
  const recipe = applyRecipe(cfg, expandStudents(cfg), explicitKeys(flags, config, ALL_OPTIONS, base));
  // Resolved, so --print-config and run.json say when the lr moves.
  cfg.lrUpdate ??= defaultLrUpdate(cfg.schedule!);
  const file =
    flags.stages !== undefined
      ? undefined
      : config && loadConfigFile(config, ALL_OPTIONS).stages !== undefined
        ? config
        : base.stages !== undefined
          ? saved
          : undefined;
  return {
    cfg,
    where: (key) => `${file ? `${locateKey(file, key)}: ` : ''}'${key.join('.')}'`,
    ...(recipe ? { recipe } : {}),
  };
}

// The resolved config as YAML (`--print-config`).
export function printConfig(cfg: DistillOptions): string {
  return configToYaml(cfg as Record<string, unknown>);
}

// `--student a --student b`, or `--students K` copies of one spec.
export function expandStudents(cfg: DistillOptions): string[] {
  const list = Array.isArray(cfg.student) ? cfg.student : [cfg.student ?? 'zoo:cnn'];
  if (cfg.students === undefined) return list;
  if (list.length > 1)
    throw new UserError(
      `--students ${cfg.students} copies one --student spec, but ${list.length} were given (${list.join(', ')})`,
    );
  return Array.from({ length: cfg.students }, () => list[0]!);
}

// The config saved as `outDir/config.yaml` (what --resume starts from), headed by the run id; a resumed run keeps its id.
export function saveRunConfig(cfg: DistillOptions, outDir: string): string | undefined {
  const runId = cfg.resume !== undefined ? configRunId(join(outDir, 'config.yaml')) : newRunId();
  writeFileAtomic(
    join(outDir, 'config.yaml'),
    `${runId ? `# onnx-distill run ${runId}\n` : ''}${printConfig({ ...cfg, out: outDir })}`,
  );
  return runId;
}

// The metadata every exported student carries: the method that trained it and the hash of the teacher file it read.
export function provenanceMetadata(method: string, teacherFile: string | undefined): Record<string, string> {
  return { [META_METHOD]: method, ...(teacherFile ? { [META_TEACHER_SHA256]: fileSha256(teacherFile) } : {}) };
}

// Where a model's bytes come from, for the hash recorded in every student's metadata and in stage keys.
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
