import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Ajv } from 'ajv';
import { configSchema } from '../config/file.js';
import { UserError } from '../util/errors.js';
import { kindOf, loadKinds } from './kind.js';
import { canonical } from './spec.js';

// Whoever can write to Redis can put a job on the queue. A worker therefore runs only jobs that
// - carry an HMAC-SHA256 over their payload made with the secret `pipeline run` and the workers share (--secret-file),
// - pass the same schema as the jobs of a pipeline file (the command's option table; no `out`/`resume`), and
// - write only inside the shared root the worker serves (--root): the job folder and every path the job writes,
//   symlinks resolved.
// Anything else is refused as a user error naming the key, and nothing of it is written or run.

// What a queued job carries (the job, its folder, the pipeline it belongs to, and the signature over all of it).
export interface SignedJob {
  id: string;
  command: string;
  config: Record<string, unknown>;
  source: string;
  dir: string;
  // The pipeline that queued it: a hash of its file and --out, the same on every rerun.
  pipeline: string;
  // hex HMAC-SHA256 of the canonical JSON of every other field, keyed with the shared secret.
  sig: string;
}

// A secret shorter than this is refused: it would be guessable.
const MIN_SECRET = 16;

// The shared secret from --secret-file: its first line, at least 16 characters.
export function readSecret(path: string): Buffer {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError(`--secret-file: ${path}: no such file`);
  const secret = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  if (secret.length < MIN_SECRET)
    throw new UserError(
      `--secret-file: ${path}: the secret has ${secret.length} characters; give at least ${MIN_SECRET}`,
      'make one with: openssl rand -hex 32 > secret && chmod 600 secret',
    );
  return Buffer.from(secret, 'utf8');
}

// The id of a pipeline as its jobs carry it.
export function pipelineId(file: string, out: string): string {
  return createHash('sha256').update(`${file}\0${out}`).digest('hex').slice(0, 12);
}

const mac = (secret: Buffer, job: Omit<SignedJob, 'sig'>) =>
  createHmac('sha256', secret)
    .update(canonical({ ...job }))
    .digest('hex');

// A job as `pipeline run` queues it: signed.
export function signJob(secret: Buffer, job: Omit<SignedJob, 'sig'>): SignedJob {
  return { ...job, sig: mac(secret, job) };
}

const FIELDS = {
  id: 'string',
  command: 'string',
  config: 'object',
  source: 'string',
  dir: 'string',
  pipeline: 'string',
  sig: 'string',
} as const;

// Keys of a job's config that name something the job writes (resolved against the root; words such as `auto` aside).
const WRITTEN_PATHS = ['saveArtifacts', 'teacherCache'] as const;
const WORDS = new Set(['auto', 'off']);

// The job checked as a worker must before running it: signed with `secret`, its config valid for its command, and
// everything it writes inside `root`. Throws a UserError (`job <id> refused: ...`) naming the key otherwise.
export async function checkQueuedJob(
  data: unknown,
  queueJobId: string | undefined,
  secret: Buffer,
  root: string,
): Promise<SignedJob> {
  const refuse = (why: string): never => {
    throw new UserError(`job ${String(queueJobId)} refused: ${why}`);
  };
  if (data === null || typeof data !== 'object') refuse('its data is not a mapping');
  const d = data as Record<string, unknown>;
  for (const [k, t] of Object.entries(FIELDS))
    if (typeof d[k] !== t || d[k] === null) refuse(`'${k}' is missing or not a ${t}`);
  const extra = Object.keys(d).find((k) => !(k in FIELDS));
  if (extra !== undefined) refuse(`unknown key '${extra}'`);
  const job = d as unknown as SignedJob;
  const { sig, ...payload } = job;
  const want = Buffer.from(mac(secret, payload), 'hex');
  const got = Buffer.from(/^[0-9a-f]{64}$/.test(sig) ? sig : '', 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want))
    refuse(`'sig' does not match: it was not queued by \`pipeline run\` with this worker's --secret-file`);
  if (job.id !== queueJobId || !/^[0-9a-f]{12}$/.test(job.id)) refuse(`'id' ${job.id} is not the queue's job id`);
  const kind = kindOf(await loadKinds(), job.command, `job ${job.id}`);
  const validate = new Ajv({ allErrors: false }).compile(configSchema(kind.options));
  if (!validate(job.config)) {
    const e = validate.errors![0]!;
    const key =
      e.keyword === 'additionalProperties'
        ? String((e.params as { additionalProperty: string }).additionalProperty)
        : (e.instancePath.split('/')[1] ?? '');
    refuse(
      `config key '${key}' ${e.keyword === 'additionalProperties' ? 'is not an option of ' + job.command : (e.message ?? 'is not valid')}`,
    );
  }
  if (basename(job.dir) !== job.id) refuse(`'dir' ${job.dir} is not a folder named after the job`);
  confine(job.dir, root, `'dir'`, refuse, true);
  for (const k of WRITTEN_PATHS) {
    const v = job.config[k];
    if (typeof v === 'string' && !WORDS.has(v))
      confine(isAbsolute(v) ? v : resolve(job.dir, v), root, `config key '${k}'`, refuse);
  }
  return job;
}

// `path` must resolve inside `root`, symlinks included: the nearest existing ancestor's real path is checked, and the
// rest of the path (not yet created) may hold no `..`.
function confine(path: string, root: string, what: string, refuse: (why: string) => never, strict = false): void {
  if (!isAbsolute(path)) refuse(`${what} ${path} is not an absolute path`);
  const realRoot = realpathSync(root);
  let existing = resolve(path);
  while (!existsSync(existing)) existing = dirname(existing);
  const real = resolve(realpathSync(existing), relative(existing, resolve(path)));
  const inside = (!strict && real === realRoot) || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
  if (!inside)
    refuse(
      `${what} ${path} is outside the worker's --root ${realRoot}${real !== resolve(path) ? ` (it resolves to ${real})` : ''}`,
    );
}
