import type { OptionDef } from '../config/options.js';
import { UserError } from '../util/errors.js';
import { importFolder } from '../util/registry.js';

// What a job reports when it is done, read back from its folder (run.json), so a skipped job reports like a new one.
export interface JobMetrics {
  bestValAcc?: number;
  lastValAcc?: number;
  wallSeconds: number;
}

// How far a running job is, parsed from one line of its log.
export interface JobProgress {
  value: number;
  total: number;
  status: string;
}

// One kind of job a pipeline can run (`command: distill`, ...): one file per kind in ./kinds/, found from the folder.
// A job runs as the kind's own CLI command in a child process: `onnx-distill <command> --config job.yaml --out DIR`,
// or `--resume DIR` when DIR holds a checkpoint.
export interface JobKind {
  command: string;
  // The keys a job of this kind may set: validated against this table like a run config.
  options: OptionDef[];
  // The job's config with every default filled in (paths already absolute): what the job id hashes.
  resolve(config: Record<string, unknown>): Record<string, unknown>;
  // The command line (after the binary) that runs the job in `dir`; `resume` when dir/checkpoint.bin exists.
  argv(jobFile: string, dir: string, resume: boolean, threads: number): string[];
  // Progress from one log line of the job (undefined when the line says nothing about it).
  progress(line: string, config: Record<string, unknown>): JobProgress | undefined;
  // Whether `dir` holds a finished job, and its figures then.
  finished(dir: string): JobMetrics | undefined;
}

// Commands known to be on their way, so a pipeline that names one gets told why it cannot run yet.
const PLANNED: Record<string, string> = {};

let kinds: Map<string, JobKind> | undefined;

// Every job kind, by command name.
export async function loadKinds(): Promise<Map<string, JobKind>> {
  kinds ??= new Map(
    (await importFolder(new URL('./kinds/', import.meta.url), (m) => m.kind as JobKind | undefined)).map((k) => [
      k.command,
      k,
    ]),
  );
  return kinds;
}

// The kind of a job's `command`, or a UserError saying which commands a pipeline can run.
export function kindOf(all: Map<string, JobKind>, command: string, where: string): JobKind {
  const k = all.get(command);
  if (k) return k;
  const planned = PLANNED[command];
  if (planned) throw new UserError(`${where}: 'command: ${command}' is not available yet`, planned);
  throw new UserError(
    `${where}: unknown command '${command}'`,
    `a job's command is one of: ${[...all.keys()].join(', ')}`,
  );
}
