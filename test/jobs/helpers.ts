import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';

export const BIN = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
export const TEACHER = new URL('../fixtures/small_resnet_eval.onnx', import.meta.url).pathname;
export const ENV = { ...process.env, ONNX_DISTILL_SOURCE: '1' };

// The CLI as a user runs it.
export const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV });
export const cliAsync = (args: string[]): ChildProcess =>
  spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });

// A small PNG folder of the embedded Fashion-MNIST subset (train/ and val/).
export async function smallImages(dir: string, train: number, val: number): Promise<string> {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(dir, 'train'), train);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(dir, 'val'), val);
  return dir;
}

// A loopback port nothing listens on right now.
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

// All the text a child printed, and its exit.
export function collect(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { out: () => out, err: () => err, exit: new Promise((r) => child.on('close', (code) => r(code))) };
}
