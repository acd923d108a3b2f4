// The session worker: onnxruntime runs block their thread, so they live here and the main thread stays free to decode data.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { TensorData } from './tensor.js';

export type Request =
  | { kind: 'create'; bytes: Uint8Array; providers: ort.InferenceSession.ExecutionProviderConfig[]; threads?: number }
  | {
      kind: 'run';
      sid: number;
      feeds: Record<string, TensorData>;
      fetch: string[];
      carry: Record<string, string>;
      keepFetched?: boolean;
    }
  | { kind: 'setState'; tensors: Record<string, TensorData> }
  | { kind: 'getState'; names: string[] }
  | { kind: 'clearState'; names?: string[] }
  | { kind: 'release'; sid: number };

const sessions = new Map<number, ort.InferenceSession>();
// Named tensors kept between runs (parameters, optimizer state): inputs of a run default to these.
const state = new Map<string, ort.Tensor>();
let nextId = 1;

function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}

function fromOrt(t: ort.Tensor): TensorData {
  return { type: t.type as TensorData['type'], dims: [...t.dims], data: t.data as TensorData['data'] };
}

async function handle(req: Request): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (req.kind) {
    case 'create': {
      const opts: ort.InferenceSession.SessionOptions = {
        executionProviders: req.providers,
        graphOptimizationLevel: 'all',
        ...(req.threads ? { intraOpNumThreads: req.threads, interOpNumThreads: 1 } : {}),
        // Threads block instead of spinning when a run ends: a run with several sessions (a cold teacher cache: the
        // teacher's session, then the step's) otherwise has one pool spin on the cores the next one needs, which
        // doubled a cold-cache KD epoch (2.06× a CE epoch with spinning, 0.98× without; the single-session step is
        // unchanged). ONNX_DISTILL_SPIN=1 restores onnxruntime's default.
        ...(process.env.ONNX_DISTILL_SPIN === '1' ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
        // No memory pattern: with it, onnxruntime plans one block for a run's whole pattern on top of what the first
        // run allocated, and a 224-px KD step at batch 32 (MobileNetV3-Small from a ResNet-50 teacher) peaked at
        // 2841 MB RSS against 1849 MB without it, at the same speed (scripts/bench/memory.ts). ONNX_DISTILL_ARENA=off
        // also drops the CPU arena (buffers go back to the system after each run), for memory studies.
        enableMemPattern: false,
        ...(process.env.ONNX_DISTILL_ARENA === 'off' ? { enableCpuMemArena: false } : {}),
      };
      const s = await ort.InferenceSession.create(req.bytes, opts);
      const sid = nextId++;
      sessions.set(sid, s);
      return { value: { sid, inputNames: s.inputNames, outputNames: s.outputNames }, transfer: [] };
    }
    case 'run': {
      const s = sessions.get(req.sid);
      if (!s) throw new Error(`no session ${req.sid}`);
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of s.inputNames) {
        const t = req.feeds[name] ? toOrt(req.feeds[name]!) : state.get(name);
        if (!t) throw new Error(`input '${name}' was neither fed nor kept in state`);
        feeds[name] = t;
      }
      const wanted = new Set([...req.fetch, ...Object.keys(req.carry)]);
      const results = await s.run(feeds, [...wanted]);
      for (const [out, inp] of Object.entries(req.carry)) state.set(inp, results[out]!);
      const value: Record<string, TensorData> = {};
      const transfer: ArrayBuffer[] = [];
      for (const name of req.fetch) {
        const t = fromOrt(results[name]!);
        value[name] = t;
        const buf = (t.data as { buffer?: unknown }).buffer;
        if (!(name in req.carry) && !req.keepFetched && buf instanceof ArrayBuffer && !transfer.includes(buf))
          transfer.push(buf);
      }
      return { value, transfer };
    }
    case 'setState':
      for (const [k, t] of Object.entries(req.tensors)) state.set(k, toOrt(t));
      return { value: null, transfer: [] };
    case 'getState': {
      const value: Record<string, TensorData> = {};
      for (const n of req.names) {
        const t = state.get(n);
        if (!t) throw new Error(`no state tensor '${n}'`);
        const d = fromOrt(t);
        value[n] = { ...d, data: d.data.slice() };
      }
      return { value, transfer: [] };
    }
    case 'clearState':
      if (req.names) for (const n of req.names) state.delete(n);
      else state.clear();
      return { value: null, transfer: [] };
    case 'release': {
      await sessions.get(req.sid)?.release();
      sessions.delete(req.sid);
      return { value: null, transfer: [] };
    }
  }
}

parentPort!.on('message', (msg: { id: number; req: Request }) => {
  handle(msg.req).then(
    ({ value, transfer }) => {
      try {
        parentPort!.postMessage({ id: msg.id, value }, transfer);
      } catch (err: unknown) {
        parentPort!.postMessage({
          id: msg.id,
          error: `cannot return the results: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    },
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
