// One epoch of a teacher's recorded logits on disk: `epoch-<e>.bin`, rows read and written in place by sample, so
// memory stays one batch of rows plus a byte per sample however large the dataset. Layout (little-endian):
//   'ODTC' · u32 version · u32 samples · u32 classes · u8 present[samples] (padded to 4) · f32 rows[samples][classes]
// A run never changes a published file: it writes a private copy and renames it over the old one when the epoch
// ends (or is interrupted), so readers and concurrent runs only ever see whole files; each is a valid cache.
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

const MAGIC = 0x4354444f; // 'ODTC'
const VERSION = 1;
const HEADER = 16;

export class LogitStore {
  private fd: number | undefined;
  private present: Uint8Array;
  // The private copy being written, once a row was missing.
  private tmp: string | undefined;
  private changed = false;
  private readonly rowBytes: number;
  private readonly dataStart: number;

  constructor(
    readonly path: string,
    readonly samples: number,
    readonly classes: number,
  ) {
    this.rowBytes = classes * 4;
    this.dataStart = HEADER + Math.ceil(samples / 4) * 4;
    this.present = new Uint8Array(samples);
    if (existsSync(path)) this.openPublished();
  }

  // Samples whose rows the file holds.
  get stored(): number {
    let n = 0;
    for (const p of this.present) n += p;
    return n;
  }

  has(indices: Int32Array): boolean {
    for (const s of indices) if (!this.present[s]) return false;
    return true;
  }

  // Rows of `indices` into `out` ([indices.length, classes]); all must be present.
  read(indices: Int32Array, out: Float32Array): void {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, indices.length * this.rowBytes);
    indices.forEach((s, r) => {
      const got = readSync(this.fd!, bytes, r * this.rowBytes, this.rowBytes, this.dataStart + s * this.rowBytes);
      if (got !== this.rowBytes) throw new Error(`${this.path}: short read of sample ${s}`);
    });
  }

  // Record rows ([indices.length, classes]) for `indices`.
  write(indices: Int32Array, rows: Float32Array): void {
    if (!this.tmp) this.beginCopy();
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, indices.length * this.rowBytes);
    indices.forEach((s, r) => {
      writeAll(
        this.fd!,
        bytes.subarray(r * this.rowBytes, (r + 1) * this.rowBytes),
        this.dataStart + s * this.rowBytes,
      );
      this.present[s] = 1;
    });
    this.changed = true;
  }

  // Publish what was written (atomically, by rename) and close.
  close(): void {
    if (this.fd === undefined) return;
    try {
      if (this.tmp && this.changed) {
        writeAll(this.fd, this.present, HEADER);
        fsyncSync(this.fd);
        closeSync(this.fd);
        this.fd = undefined;
        renameSync(this.tmp, this.path);
        this.tmp = undefined;
      }
    } finally {
      this.discard();
    }
  }

  // Close without publishing (the run failed).
  discard(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.tmp) rmSync(this.tmp, { force: true });
    this.tmp = undefined;
  }

  private openPublished(): void {
    const fd = openSync(this.path, 'r');
    const head = new Uint32Array(4);
    const ok =
      readSync(fd, new Uint8Array(head.buffer), 0, HEADER, 0) === HEADER &&
      head[0] === MAGIC &&
      head[1] === VERSION &&
      head[2] === this.samples &&
      head[3] === this.classes &&
      readSync(fd, this.present, 0, this.samples, HEADER) === this.samples;
    if (ok) {
      this.fd = fd;
      return;
    }
    // Another layout (an older version, a torn copy): ignored and replaced when this epoch ends.
    closeSync(fd);
    this.present.fill(0);
  }

  private beginCopy(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.tmp = `${this.path}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
    if (this.fd !== undefined) {
      closeSync(this.fd);
      copyFileSync(this.path, this.tmp);
      this.fd = openSync(this.tmp, 'r+');
      return;
    }
    this.fd = openSync(this.tmp, 'w+');
    ftruncateSync(this.fd, this.dataStart + this.samples * this.rowBytes);
    writeAll(this.fd, new Uint8Array(Uint32Array.of(MAGIC, VERSION, this.samples, this.classes).buffer), 0);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off, position + off);
}
