import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError, messageOf } from '../util/errors.js';
import { resolveDevices } from './devices/index.js';
import type { TensorData } from './tensor.js';
import type { Request } from './worker.js';

// Options for opening sessions: which device(s) to try and how many CPU threads to use.
export interface RuntimeOptions {
  device?: string;
  threads?: number;
  deviceId?: number;
}

// One worker thread hosting onnxruntime sessions and the state tensors they share.
export class Runtime {
  private worker: Worker;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  device = 'cpu';

  constructor(readonly options: RuntimeOptions = {}) {
    const here = import.meta.url;
    const ext = extname(fileURLToPath(here));
    const workerUrl = new URL(`./worker${ext}`, here);
    // Under tsx (tests, development) the worker registers tsx itself; a built package runs worker.js directly.
    this.worker =
      ext === '.ts'
        ? new Worker(
            `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`,
            { eval: true },
          )
        : new Worker(workerUrl);
    this.worker.on('message', (msg: { id: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.value);
    });
    const failAll = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    // A worker that dies (out of memory, native crash) must not leave callers waiting forever.
    this.worker.on('exit', (code) => {
      if (this.pending.size) failAll(new Error(`the onnxruntime worker exited (code ${code})`));
    });
    this.worker.unref();
  }

  call<T>(req: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (v) => {
          this.done();
          resolve(v as T);
        },
        reject: (e) => {
          this.done();
          reject(e);
        },
      });
      this.worker.postMessage({ id, req }, transfer);
    });
  }

  private done(): void {
    if (this.pending.size === 0) this.worker.unref();
  }

  // Create a session from model bytes, trying the requested devices in order and keeping every failure's reason.
  // Each device may first lower the model for itself (see Device.lower); `portable` skips that.
  async session(bytes: Uint8Array, label = 'model', opts: { portable?: boolean } = {}): Promise<Session> {
    const devices = resolveDevices(this.options.device ?? 'cpu');
    const errors: string[] = [];
    for (const d of devices) {
      try {
        const model = d.lower && !opts.portable ? await d.lower(bytes) : bytes;
        const info = await this.call<{ sid: number; inputNames: string[]; outputNames: string[] }>({
          kind: 'create',
          bytes: model,
          providers: d.providers({ deviceId: this.options.deviceId }),
          ...(this.options.threads ? { threads: this.options.threads } : {}),
        });
        this.device = d.name;
        return new Session(this, info.sid, info.inputNames, info.outputNames, d.name);
      } catch (err: unknown) {
        errors.push(`${d.name}: ${messageOf(err)}${d.hint?.(messageOf(err)) ?? ''}`);
      }
    }
    const detail = errors.map((e) => `  - ${e}`).join('\n');
    if (devices.length === 1 && devices[0]!.name === 'cpu')
      throw new Error(`onnxruntime could not load ${label}:\n${detail}`);
    throw new UserError(`no requested device could run ${label}:\n${detail}`);
  }

  setState(tensors: Record<string, TensorData>): Promise<void> {
    return this.call({ kind: 'setState', tensors });
  }

  getState(names: string[]): Promise<Record<string, TensorData>> {
    return this.call({ kind: 'getState', names });
  }

  clearState(names?: string[]): Promise<void> {
    return this.call({ kind: 'clearState', ...(names ? { names } : {}) });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

// A loaded model in the runtime's worker.
export class Session {
  constructor(
    readonly runtime: Runtime,
    readonly sid: number,
    readonly inputNames: string[],
    readonly outputNames: string[],
    readonly device: string,
  ) {}

  // Run once. Inputs not fed come from the runtime state; `carry` stores outputs back into state under input names.
  run(
    feeds: Record<string, TensorData>,
    fetch: string[] = this.outputNames,
    carry: Record<string, string> = {},
  ): Promise<Record<string, TensorData>> {
    return this.runtime.call({ kind: 'run', sid: this.sid, feeds, fetch, carry });
  }

  release(): Promise<void> {
    return this.runtime.call({ kind: 'release', sid: this.sid });
  }
}

// Open a runtime, run one model once on the given feeds, and close it: for tests and one-off checks.
export async function runOnce(
  bytes: Uint8Array,
  feeds: Record<string, TensorData>,
  opts: RuntimeOptions = {},
): Promise<Record<string, TensorData>> {
  const rt = new Runtime(opts);
  try {
    const s = await rt.session(bytes);
    return await s.run(feeds);
  } finally {
    await rt.close();
  }
}
