import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '../runtime/tensor.js';
import { UserError } from '../util/errors.js';
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
}

const MAGIC = 'ODCKPT1\n';

// Save all state tensors (weights, optimizer slots, running stats) and meta in one file, atomically.
export function saveCheckpoint(dir: string, meta: CheckpointMeta, tensors: Record<string, TensorData>): string {
  const entries = Object.entries(tensors);
  let offset = 0;
  const index = entries.map(([name, t]) => {
    const e = { name, type: t.type, dims: t.dims, offset, bytes: t.data.byteLength };
    offset += t.data.byteLength;
    return e;
  });
  const header = Buffer.from(JSON.stringify({ meta, index }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.byteLength));
  const path = join(dir, 'checkpoint.bin');
  writeFileAtomic(path, [MAGIC, len, header, ...entries.map(([, t]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
  return path;
}

// Load a checkpoint written by saveCheckpoint; errors name the file.
export function loadCheckpoint(dir: string): { meta: CheckpointMeta; tensors: Record<string, TensorData> } {
  const path = join(dir, 'checkpoint.bin');
  if (!existsSync(path)) throw new UserError(`--resume: no checkpoint at ${path}`);
  const buf = readFileSync(path);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw new UserError(`${path}: not an onnx-distill checkpoint`);
  const hlen = Number(buf.readBigUInt64LE(MAGIC.length));
  const start = MAGIC.length + 8;
  const { meta, index } = JSON.parse(buf.subarray(start, start + hlen).toString()) as {
    meta: CheckpointMeta; index: { name: string; type: 'float32'; dims: number[]; offset: number; bytes: number }[];
  };
  const base = start + hlen;
  const tensors: Record<string, TensorData> = {};
  for (const e of index) {
    const bytes = buf.subarray(base + e.offset, base + e.offset + e.bytes);
    if (bytes.byteLength !== e.bytes) throw new UserError(`${path}: truncated checkpoint (tensor '${e.name}')`);
    tensors[e.name] = { type: e.type, dims: e.dims, data: new Float32Array(new Uint8Array(bytes).buffer) };
  }
  return { meta, tensors };
}
