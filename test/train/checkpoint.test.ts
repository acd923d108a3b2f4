// Checkpoints verify themselves: a flipped byte, a truncation or a failed write never resumes silently.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { loadModel } from '../../src/ir/model.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../../src/train/checkpoint.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { UserError } from '../../src/util/errors.js';
import { fileIO } from '../../src/util/fs.js';
import { quadrantData } from './synthetic.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'od-ckpt-'));
  dirs.push(d);
  return d;
};
const realWrite = fileIO.writeSync;
afterEach(() => {
  fileIO.writeSync = realWrite;
});

const meta = (epoch: number): CheckpointMeta => ({
  version: 1,
  epoch,
  step: epoch * 10,
  batchInEpoch: 0,
  config: { lr: 0.1 },
  history: [],
  reason: 'epoch',
});
const state = (v: number): Record<string, TensorData> => ({
  'conv.weight': { type: 'float32', dims: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => v + i) },
  'bn.running_var': { type: 'float32', dims: [4], data: new Float32Array(4).fill(v) },
});

// Make every write after `okBytes` bytes fail like a full disk.
function diskFullAfter(okBytes: number): void {
  let written = 0;
  fileIO.writeSync = ((fd: number, data: Uint8Array | string, ...rest: unknown[]) => {
    const n = typeof data === 'string' ? Buffer.byteLength(data) : ((rest[1] as number | undefined) ?? data.byteLength);
    if (written + n > okBytes)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    written += n;
    return (realWrite as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof fileIO.writeSync;
}

function refused(dir: string, pattern: RegExp): void {
  assert.throws(
    () => loadCheckpoint(dir),
    (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, pattern);
      assert.match(err.message, /checkpoint\.bin/);
      return true;
    },
  );
}

describe('checkpoint file', () => {
  test('round-trips meta and tensors', () => {
    const d = tmp();
    saveCheckpoint(d, meta(2), state(1));
    const ck = loadCheckpoint(d);
    assert.deepEqual(ck.meta, meta(2));
    assert.deepEqual([...ck.tensors['conv.weight']!.data], [...state(1)['conv.weight']!.data]);
    assert.deepEqual(ck.tensors['bn.running_var']!.dims, [4]);
  });

  test('a byte flipped anywhere (header, metadata or tensor data) is refused with the part named', () => {
    const d = tmp();
    const path = saveCheckpoint(d, meta(2), state(1));
    const good = readFileSync(path);
    const hlen = Number(good.readBigUInt64LE(8));
    const cases: [number, RegExp][] = [
      [3, /signature/],
      [8, /truncated|corrupt/],
      [20, /metadata checksum/],
      [48 + 10, /metadata checksum/],
      [48 + hlen + 5, /tensor 'conv\.weight' does not match its checksum/],
      [good.length - 1, /tensor 'bn\.running_var' does not match/],
    ];
    for (const [at, pattern] of cases) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x10;
      writeFileSync(path, bad);
      refused(d, pattern);
    }
  });

  test('a truncated checkpoint or one with trailing bytes is refused', () => {
    const d = tmp();
    const path = saveCheckpoint(d, meta(2), state(1));
    const good = readFileSync(path);
    for (const len of [0, 7, 30, 60, good.length - 4]) {
      writeFileSync(path, good.subarray(0, len));
      refused(d, /truncated|signature|corrupt/);
    }
    writeFileSync(path, Buffer.concat([good, Buffer.from('junk')]));
    refused(d, /unexpected bytes at the end/);
  });

  test('a checkpoint of the old unchecksummed format is refused, not trusted', () => {
    const d = tmp();
    writeFileSync(join(d, 'checkpoint.bin'), Buffer.concat([Buffer.from('ODCKPT1\n'), Buffer.alloc(8)]));
    refused(d, /older onnx-distill without checksums/);
  });

  test('a disk that fills up during the write keeps the previous checkpoint and says so', () => {
    const d = tmp();
    saveCheckpoint(d, meta(1), state(1));
    diskFullAfter(100);
    assert.throws(
      () => saveCheckpoint(d, meta(2), state(2)),
      (err: unknown) =>
        err instanceof UserError &&
        /ENOSPC: the disk is full.*last good checkpoint .*checkpoint\.bin is kept/.test(err.message),
    );
    fileIO.writeSync = realWrite;
    const ck = loadCheckpoint(d);
    assert.equal(ck.meta.epoch, 1);
    assert.deepEqual([...ck.tensors['conv.weight']!.data], [...state(1)['conv.weight']!.data]);
    assert.deepEqual(readdirSync(d), ['checkpoint.bin'], 'no temp file left behind');
  });
});

const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
function options(outDir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model: loadModel(new URL('../fixtures/small_resnet_eval.onnx', import.meta.url).pathname),
    train: quadrantData(128, 1),
    classes,
    epochs: 2,
    batchSize: 32,
    schedule: { kind: 'constant', lr: 0.05, epochs: 2 },
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    seed: 3,
    outDir,
    threads: 1,
    ...over,
  };
}

test('train: a full disk at the epoch-2 checkpoint stops with a user error, keeps epoch 1, and resuming matches an uninterrupted run', async () => {
  const [full, cut] = [tmp(), tmp()];
  await train(options(full));
  let saves = 0;
  const data = quadrantData(128, 1, (epoch, i) => {
    if (epoch === 1 && i === 3) {
      saves++;
      diskFullAfter(0);
    }
  });
  await assert.rejects(
    train(options(cut, { train: data })),
    (err: unknown) => err instanceof UserError && /disk is full.*is kept unchanged/.test(err.message),
  );
  fileIO.writeSync = realWrite;
  assert.equal(saves, 1);
  assert.equal(loadCheckpoint(cut).meta.epoch, 1);
  assert.equal(existsSync(join(cut, 'model.onnx')), false);
  await train(options(cut, { resume: true }));
  assert.ok(readFileSync(join(full, 'model.onnx')).equals(readFileSync(join(cut, 'model.onnx'))));
});
