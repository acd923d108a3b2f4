import { closeSync, existsSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { TensorProto } from '../onnx/onnx_pb.js';
import { UserError } from '../util/errors.js';
import { BYTES, dtypeFromCode } from './dtype.js';
import { numel, type Tensor } from './tensor.js';

// Initializers stored outside the .onnx bytes: a data file beside the model (read with its path checked), or the
// tensors an in-memory copy shares with its original.

// Where an initializer's external bytes come from: a file beside the model, or tensors already in memory.
export interface TensorSource {
  read(t: TensorProto): Uint8Array;
}

// The location of initializers a copy shares with the graph it was copied from (serializeModel's `share`).
export const SHARED_LOCATION = 'onnx-distill-shared-tensors';

// In-memory external data: the offset indexes a list of tensors, whose bytes are handed back without copying.
export class SharedTensors implements TensorSource {
  constructor(private tensors: Tensor[]) {}

  read(t: TensorProto): Uint8Array {
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const shared = info.get('location') === SHARED_LOCATION ? this.tensors[Number(info.get('offset'))] : undefined;
    if (!shared) throw new Error(`tensor '${t.name}' is not one of the shared tensors of this copy`);
    return shared.bytes();
  }
}

// Reads each external tensor's own byte range (positioned reads): nothing is allocated before the range is checked
// against the file's real size, and the file must resolve, links included, inside the model's folder.
export class ExternalData implements TensorSource {
  private sizes = new Map<string, number>();
  constructor(
    private dir: string,
    private modelPath: string,
  ) {}

  private fail(msg: string): never {
    throw new UserError(`${this.modelPath}: ${msg}`);
  }

  private sizeOf(full: string, loc: string, name: string): number {
    const known = this.sizes.get(full);
    if (known !== undefined) return known;
    if (!existsSync(full))
      this.fail(`external data file '${loc}' for tensor '${name}' is missing (looked in ${this.dir})`);
    const rel = relative(realpathSync(this.dir), realpathSync(full));
    if (rel.startsWith('..') || isAbsolute(rel))
      this.fail(
        `external data '${loc}' for tensor '${name}' is a link to a file outside the model's folder; refusing to read it`,
      );
    const st = statSync(full);
    if (!st.isFile()) this.fail(`external data '${loc}' for tensor '${name}' is not a regular file`);
    this.sizes.set(full, st.size);
    return st.size;
  }

  read(t: TensorProto): Uint8Array {
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const loc = info.get('location');
    if (!loc) this.fail(`tensor '${t.name}' is external but has no location`);
    const full = resolve(this.dir, loc);
    const rel = relative(this.dir, full);
    if (isAbsolute(loc) || rel.startsWith('..') || isAbsolute(rel) || rel === '') {
      this.fail(`tensor '${t.name}' points at external data '${loc}' outside the model's folder; refusing to read it`);
    }
    const size = this.sizeOf(full, loc, t.name);
    // validate.ts has checked that offset and length are byte counts and that a given length matches the dims.
    const offset = Number(info.get('offset') ?? 0);
    const need = numel(t.dims.map(Number)) * BYTES[dtypeFromCode(t.dataType)];
    if (offset + need > size) {
      this.fail(
        `external data '${loc}' is too short for tensor '${t.name}' (needs bytes ${offset}..${offset + need}, file has ${size})`,
      );
    }
    const out = new Uint8Array(need);
    const fd = openSync(full, 'r');
    try {
      for (let done = 0; done < need;) {
        const n = readSync(fd, out, done, need - done, offset + done);
        if (n === 0) this.fail(`external data '${loc}' ended while reading tensor '${t.name}'`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}
