import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

// The write call writeFileAtomic uses; tests swap it to inject a failing disk (ENOSPC) without a small tmpfs.
export const fileIO = { writeSync };

// Write a file so readers never see it half-written: temp file in the same folder, fsync, rename.
export function writeFileAtomic(path: string, chunks: Uint8Array | string | (Uint8Array | string)[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) {
      if (typeof c === 'string') fileIO.writeSync(fd, c);
      else {
        let off = 0;
        while (off < c.byteLength) off += fileIO.writeSync(fd, c, off, c.byteLength - off);
      }
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err: unknown) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
