import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { arrayCtor, BYTES, ONNX_CODE, type DType } from '../ir/dtype.js';
import type { TensorData } from '../runtime/tensor.js';
import { messageOf, UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

// What a checkpoint records besides tensors: where to resume and the history so far.
export interface CheckpointMeta {
  version: 1;
  epoch: number; // epochs fully done
  step: number; // global optimizer steps done
  batchInEpoch: number; // batches done in the current (unfinished) epoch
  config: unknown;
  history: unknown[];
  reason: 'epoch' | 'interrupt';
  // The stage of a staged run this checkpoint is inside.
  stage?: string;
  // The run that wrote it (config.yaml and run.json carry the same id; --resume checks they agree).
  runId?: string;
}

// File layout: MAGIC | u64 header length | sha256 of the header (32 bytes) | header JSON | tensor bytes.
// The header holds the meta and, per tensor, its dtype, dims, offset, length and sha256; the file length must match
// exactly, so truncation, a flipped byte anywhere and trailing junk are each refused with the part named.
const MAGIC = 'ODCKPT2\n';
const OLD_MAGIC = 'ODCKPT1\n';
const FIXED = MAGIC.length + 8 + 32;

interface IndexEntry {
  name: string;
  type: DType;
  dims: number[];
  offset: number;
  bytes: number;
  sha256: string;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const viewOf = (t: TensorData) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

// Save all state tensors (weights, optimizer slots, running stats) and meta in one file, atomically: the previous
// checkpoint stays in place until the new one is complete on disk. A failed write (disk full) is a UserError that
// says the last good checkpoint is kept.
export function saveCheckpoint(dir: string, meta: CheckpointMeta, tensors: Record<string, TensorData>): string {
  const entries = Object.entries(tensors);
  let offset = 0;
  const index: IndexEntry[] = entries.map(([name, t]) => {
    const view = viewOf(t);
    const e = {
      name,
      type: t.type,
      dims: t.dims,
      offset,
      bytes: view.byteLength,
      sha256: sha256(view).toString('hex'),
    };
    offset += view.byteLength;
    return e;
  });
  const header = Buffer.from(JSON.stringify({ meta, index, dataBytes: offset }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.byteLength));
  const path = join(dir, 'checkpoint.bin');
  // Temp files of writes that a kill -9 cut short: the checkpoint they would have replaced is still in place.
  if (existsSync(dir))
    for (const f of readdirSync(dir)) if (f.startsWith('checkpoint.bin.tmp-')) rmSync(join(dir, f), { force: true });
  try {
    writeFileAtomic(path, [MAGIC, len, sha256(header), header, ...entries.map(([, t]) => viewOf(t))]);
  } catch (err: unknown) {
    const code = (err as { code?: unknown }).code;
    const kept = existsSync(path)
      ? `the last good checkpoint ${path} is kept unchanged`
      : 'no earlier checkpoint exists';
    throw new UserError(
      `could not write the checkpoint ${path} (${typeof code === 'string' ? code : messageOf(err)}${code === 'ENOSPC' ? ': the disk is full' : ''}); ${kept}`,
      code === 'ENOSPC' ? 'free some space (or use another --out) and resume with --resume' : undefined,
      { cause: err },
    );
  }
  return path;
}

// A new run's id: 12 hex digits, written into its config.yaml, checkpoint and run.json.
export const newRunId = (): string => randomBytes(6).toString('hex');

// The run id recorded in a config.yaml's first line (`# onnx-distill run <id>`), undefined when it has none.
export function configRunId(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return /^# onnx-distill run ([0-9a-f]+)$/m.exec(readFileSync(path, 'utf8').slice(0, 200))?.[1];
}

// The run id a resumed run continues: the checkpoint's, refused when config.yaml (`claimed`, undefined when it has
// none) or run.json name another run, i.e. the folder holds files of two runs.
export function sameRun(
  dir: string,
  claimed: string | undefined,
  fromCheckpoint: string | undefined,
): string | undefined {
  const runJson = join(dir, 'run.json');
  let recorded: string | undefined;
  try {
    recorded = existsSync(runJson)
      ? (JSON.parse(readFileSync(runJson, 'utf8')) as { runId?: string }).runId
      : undefined;
  } catch {
    recorded = undefined;
  }
  const ids: [string, string | undefined][] = [
    ['checkpoint.bin', fromCheckpoint],
    ...(claimed !== undefined ? [['config.yaml', claimed] as [string, string]] : []),
    ...(recorded !== undefined ? [['run.json', recorded] as [string, string]] : []),
  ];
  if (new Set(ids.map(([, id]) => id)).size > 1) {
    throw new UserError(
      `--resume ${dir}: its files belong to different runs (${ids.map(([f, id]) => `${f}: run ${id ?? '(none)'}`).join(', ')}); refusing to continue a mixed pair`,
      'two runs wrote into this folder; start the run again without --resume (in an empty folder)',
    );
  }
  return fromCheckpoint;
}

// Load a checkpoint written by saveCheckpoint, verifying the header and every tensor; errors name the file and part.
export function loadCheckpoint(dir: string): { meta: CheckpointMeta; tensors: Record<string, TensorData> } {
  const path = join(dir, 'checkpoint.bin');
  if (!existsSync(path)) throw new UserError(`--resume: no checkpoint at ${path}`);
  if (!statSync(path).isFile()) throw new UserError(`${path}: not a regular file`);
  const buf = readFileSync(path);
  const bad = (what: string): never => {
    throw new UserError(
      `${path}: ${what}; refusing to resume from it`,
      'start the run again without --resume (or restore the file from a backup)',
    );
  };
  const magic = buf.subarray(0, MAGIC.length).toString('latin1');
  if (magic === OLD_MAGIC) bad('written by an older onnx-distill without checksums');
  if (magic !== MAGIC) bad('not an onnx-distill checkpoint (wrong signature)');
  if (buf.byteLength < FIXED) bad(`truncated (${buf.byteLength} bytes)`);
  const hlen = buf.readBigUInt64LE(MAGIC.length);
  if (hlen > BigInt(buf.byteLength - FIXED))
    bad(`truncated or corrupt: the header claims ${hlen} bytes, the file has ${buf.byteLength}`);
  const header = buf.subarray(FIXED, FIXED + Number(hlen));
  if (!sha256(header).equals(buf.subarray(MAGIC.length + 8, FIXED)))
    bad('corrupt: the metadata checksum does not match');
  let parsed: { meta: CheckpointMeta; index: IndexEntry[]; dataBytes: number };
  try {
    parsed = JSON.parse(header.toString('utf8')) as typeof parsed;
  } catch {
    return bad('corrupt: the metadata is not JSON');
  }
  const base = FIXED + Number(hlen);
  if (buf.byteLength !== base + parsed.dataBytes) {
    bad(
      buf.byteLength < base + parsed.dataBytes
        ? `truncated: ${buf.byteLength} bytes of ${base + parsed.dataBytes}`
        : `${buf.byteLength - base - parsed.dataBytes} unexpected bytes at the end`,
    );
  }
  const tensors: Record<string, TensorData> = {};
  if (!Array.isArray(parsed.index) || !Number.isSafeInteger(parsed.dataBytes))
    bad('corrupt: the tensor index is malformed');
  for (const e of parsed.index) {
    const whole = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (
      typeof e.name !== 'string' ||
      !Array.isArray(e.dims) ||
      !e.dims.every(whole) ||
      !whole(e.offset) ||
      !whole(e.bytes)
    )
      bad('corrupt: a tensor index entry is malformed');
    if (!Object.hasOwn(ONNX_CODE, e.type) || e.type === 'string')
      bad(`tensor '${e.name}' has unknown type '${e.type}'`);
    const n = e.dims.reduce((a, b) => a * b, 1);
    if (n * BYTES[e.type] !== e.bytes || e.offset + e.bytes > parsed.dataBytes)
      bad(`tensor '${e.name}' has an inconsistent size`);
    const bytes = new Uint8Array(buf.subarray(base + e.offset, base + e.offset + e.bytes));
    if (sha256(bytes).toString('hex') !== e.sha256) bad(`corrupt: tensor '${e.name}' does not match its checksum`);
    const C = arrayCtor(e.type);
    tensors[e.name] = { type: e.type, dims: e.dims, data: new C(bytes.buffer, 0, n) };
  }
  return { meta: parsed.meta, tensors };
}
