import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import type { DType } from '../ir/dtype.js';
import { fromHalfArray, halfArray } from '../ir/half.js';
import { UserError, messageOf } from '../util/errors.js';
import { resolveDevices, type Device } from './devices/index.js';

// Which onnxruntime runs an inference session: the native Node binding, or the WebAssembly build browsers use.
export type Engine = 'node' | 'web';

// One output of a run as float32 values (float16 results widened), with its dims.
export interface Output {
  dims: number[];
  data: Float32Array;
}

// An inference session in this thread: feed float32 images, get float32 outputs, whatever the model's io types.
export interface InferenceRunner {
  readonly engine: Engine;
  // The device the session runs on: a device name for node (cpu, cuda, webgpu), wasm for web.
  readonly device: string;
  readonly inputName: string;
  readonly outputNames: string[];
  run(x: Float32Array, dims: number[], fetch?: string[]): Promise<Record<string, Output>>;
  close(): Promise<void>;
}

// The options both engines take: CPU threads (node), the device (node: a --device spec, tried in order; default cpu)
// and the element type the model's input expects.
export interface RunnerOptions {
  threads?: number;
  device?: string;
  inputType?: DType;
}

type OrtLike = typeof ortNode;
type AnySession = ortNode.InferenceSession;

let webModule: Promise<OrtLike> | undefined;

// onnxruntime-web in Node: the wasm backend, single-threaded (no worker pool to leak), its .wasm files loaded from
// the installed package's dist/ folder rather than a CDN.
export function loadWeb(): Promise<OrtLike> {
  webModule ??= (async () => {
    const ort = (await import('onnxruntime-web')) as unknown as OrtLike & {
      env: { wasm: { numThreads: number; wasmPaths?: unknown; proxy?: boolean } };
    };
    const entry = createRequire(import.meta.url).resolve('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = `${pathToFileURL(dirname(entry)).href}/`;
    return ort;
  })();
  return webModule;
}

class Runner implements InferenceRunner {
  constructor(
    readonly engine: Engine,
    readonly device: string,
    private readonly ort: OrtLike,
    private readonly session: AnySession,
    private readonly inputType: DType,
  ) {}

  get inputName(): string {
    return this.session.inputNames[0]!;
  }
  get outputNames(): string[] {
    return [...this.session.outputNames];
  }

  async run(x: Float32Array, dims: number[], fetch: string[] = this.outputNames): Promise<Record<string, Output>> {
    const feed =
      this.inputType === 'float16'
        ? new this.ort.Tensor('float16', halfArray(x), dims)
        : new this.ort.Tensor('float32', x, dims);
    const res = await this.session.run({ [this.inputName]: feed }, fetch);
    const out: Record<string, Output> = {};
    for (const name of fetch) {
      const t = res[name]!;
      const data =
        t.type === 'float16'
          ? fromHalfArray(t.data as Uint16Array)
          : t.type === 'float32'
            ? (t.data as Float32Array)
            : Float32Array.from(t.data as ArrayLike<number>);
      out[name] = { dims: [...t.dims], data };
      t.dispose?.();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

// Open a model in onnxruntime-node (on `device`, default the CPU, all graph optimisations, `threads` intra-op
// threads) or onnxruntime-web (wasm). Inference graphs need no device lowering (no MaxPool Indices output).
export async function openRunner(engine: Engine, bytes: Uint8Array, o: RunnerOptions = {}): Promise<InferenceRunner> {
  const inputType = o.inputType ?? 'float32';
  if (engine === 'web') {
    const ort = await loadWeb();
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    return new Runner('web', 'wasm', ort, session, inputType);
  }
  const open = async (d: Device) =>
    new Runner(
      'node',
      d.name,
      ortNode,
      await ortNode.InferenceSession.create(bytes, {
        executionProviders: d.providers({}),
        graphOptimizationLevel: 'all',
        ...(o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {}),
      }),
      inputType,
    );
  const devices = resolveDevices(o.device ?? 'cpu');
  // One device: its own error, as onnxruntime words it (a model it cannot load is the caller's to explain).
  if (devices.length === 1) return open(devices[0]!);
  const errors: string[] = [];
  for (const d of devices) {
    try {
      return await open(d);
    } catch (err: unknown) {
      errors.push(`  - ${d.name}: ${messageOf(err)}${d.hint?.(messageOf(err)) ?? ''}`);
    }
  }
  throw new UserError(`no requested device could load the model:\n${errors.join('\n')}`);
}

// The version of each engine, for reports and benchmarks.
export function engineVersions(): Record<Engine, string> {
  const req = createRequire(import.meta.url);
  // onnxruntime-web's exports map hides its package.json, so read it beside the resolved entry (dist/..).
  const v = (pkg: string) =>
    (JSON.parse(readFileSync(join(dirname(req.resolve(pkg)), '..', 'package.json'), 'utf8')) as { version: string })
      .version;
  return { node: v('onnxruntime-node'), web: v('onnxruntime-web') };
}
