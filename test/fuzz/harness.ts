import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadFixtures, makeMutant, type Mutant } from './mutate.js';
import { writeFuzzImages } from './images.js';
import { TARGETS, type RunEnv, type TargetRun } from './targets.js';

// Runs seeded mutants through every target in a worker thread with a time limit per run, and classifies each
// outcome. Shared by scripts/fuzz.ts (any count) and test/fuzz/fuzz.test.ts (the CI sample).

// ok: exit 0 with a correct result; refused: exit 2 naming the file, node or tensor. Everything else is a failure.
export type Verdict =
  'ok' | 'refused' | 'internal' | 'hang' | 'crash' | 'accepted-invalid' | 'wrong-result' | 'vague-error';

export interface Outcome {
  mutant: Omit<Mutant, 'files'>;
  target: string;
  verdict: Verdict;
  code: number;
  message: string;
  ms: number;
  ortRefused?: string;
  ortLoads?: boolean;
}

export interface FuzzOptions {
  count: number;
  seed: number;
  first?: number;
  timeoutMs?: number;
  // Targets (by name) that run only on mutants inspect accepted, plus every `every`-th mutant (id a multiple of it):
  // the CI sample keeps export cheap this way; scripts/fuzz.ts runs every target on every mutant.
  gate?: { targets: string[]; every: number };
  onOutcome?: (o: Outcome) => void;
}

export interface FuzzReport {
  seed: number;
  mutants: number;
  runs: number;
  counts: Record<Verdict, number>;
  // The same counts per target (inspect, compile, export fp32, ...: a target with variants counts each apart).
  byTarget: Record<string, Partial<Record<Verdict, number>>>;
  byKind: Record<string, number>;
  // Runs a gate (FuzzOptions.gate) left out, by target.
  skipped: Record<string, number>;
  failures: Outcome[];
  // Mutants inspect accepted (exit 0) but onnxruntime would not load, with its reason: the report says so.
  ortRefused: Outcome[];
  // Mutants inspect refused that onnxruntime loads.
  ortLoads: Outcome[];
  seconds: number;
}

export const FAILURES: Verdict[] = ['internal', 'hang', 'crash', 'accepted-invalid', 'wrong-result', 'vague-error'];

// A user error must say which thing is wrong: the file, or a quoted node / tensor / value name.
const NAMES_SOMETHING = /model\.onnx|weights\.bin|'[^']+'/;

function classify(m: Mutant, r: TargetRun): { verdict: Verdict; message: string } {
  // From the error line on: progress and notes (`normalisation: ...`) printed before it are not the message.
  const lines = (r.stderr || r.wrong || '').split('\n');
  const at = Math.max(
    0,
    lines.findIndex((l) => l.startsWith('onnx-distill: ')),
  );
  const message = lines.slice(at, at + (r.code === 1 ? 4 : 1)).join('\n');
  if (r.code === 0) {
    if (r.wrong) return { verdict: 'wrong-result', message: r.wrong };
    return m.expect === 'invalid'
      ? { verdict: 'accepted-invalid', message: `${m.kind} ${m.detail} was accepted` }
      : { verdict: 'ok', message: '' };
  }
  if (r.code === 2) return { verdict: NAMES_SOMETHING.test(message) ? 'refused' : 'vague-error', message };
  return { verdict: r.code === 1 ? 'internal' : 'crash', message };
}

// One worker at a time; a run past the limit terminates it (a hang), a worker that dies is a crash.
class Runner {
  private worker: Worker | undefined;
  constructor(private timeoutMs: number) {}

  private spawn(): Worker {
    const url = new URL('./worker.ts', import.meta.url).href;
    return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`, {
      eval: true,
    });
  }

  run(target: string, path: string, env: RunEnv): Promise<TargetRun | 'hang' | { crash: string }> {
    const w = (this.worker ??= this.spawn());
    return new Promise((resolve) => {
      const done = (v: TargetRun | 'hang' | { crash: string }) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.worker = undefined;
        void w.terminate();
        done('hang');
      }, this.timeoutMs);
      const onMessage = (msg: { ok: boolean; run?: TargetRun; error?: string }) =>
        done(msg.ok ? msg.run! : { code: 1, stdout: '', stderr: `harness: the target threw ${msg.error}` });
      const onError = (err: Error) => {
        this.worker = undefined;
        done({ crash: err.stack ?? String(err) });
      };
      const onExit = (code: number) => {
        this.worker = undefined;
        done({ crash: `worker exited with code ${code}` });
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ target, path, env });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

// Mutants first..first+count-1 of a seed, each through every target.
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const fixtures = loadFixtures();
  const runner = new Runner(o.timeoutMs ?? 20_000);
  const scratch = mkdtempSync(join(tmpdir(), 'onnx-distill-fuzz-'));
  const images = writeFuzzImages(join(scratch, 'images'));
  const counts = Object.fromEntries((['ok', 'refused', ...FAILURES] as Verdict[]).map((v) => [v, 0])) as Record<
    Verdict,
    number
  >;
  const byKind: Record<string, number> = {};
  const byTarget: FuzzReport['byTarget'] = {};
  const skipped: Record<string, number> = {};
  const failures: Outcome[] = [];
  const ortRefused: Outcome[] = [];
  const ortLoads: Outcome[] = [];
  let runs = 0;
  try {
    for (let id = o.first ?? 0; id < (o.first ?? 0) + o.count; id++) {
      const m = makeMutant(fixtures, o.seed, id);
      byKind[m.kind] = (byKind[m.kind] ?? 0) + 1;
      const dir = join(scratch, String(id));
      mkdirSync(dir);
      for (const [name, bytes] of Object.entries(m.files)) writeFileSync(join(dir, name), bytes);
      const { files: _files, ...about } = m;
      let inspected: Verdict | undefined;
      for (const t of TARGETS) {
        const variant = t.variants?.[id % t.variants.length];
        const label = variant === undefined ? t.name : `${t.name} ${variant}`;
        if (o.gate?.targets.includes(t.name) && inspected !== 'ok' && id % o.gate.every !== 0) {
          skipped[label] = (skipped[label] ?? 0) + 1;
          continue;
        }
        const start = performance.now();
        const r = await runner.run(t.name, join(dir, 'model.onnx'), {
          images,
          ...(variant !== undefined ? { variant } : {}),
        });
        const c =
          r === 'hang'
            ? { verdict: 'hang' as const, message: `no result in ${o.timeoutMs ?? 20_000} ms`, code: -1 }
            : 'crash' in r
              ? { verdict: 'crash' as const, message: r.crash, code: -1 }
              : { ...classify(m, r), code: r.code };
        const out: Outcome = {
          mutant: about,
          target: label,
          ...c,
          ms: Math.round(performance.now() - start),
          ...(typeof r === 'object' && 'code' in r && r.ortRefused !== undefined ? { ortRefused: r.ortRefused } : {}),
        };
        if (out.ortRefused !== undefined && out.verdict === 'ok') ortRefused.push(out);
        if (typeof r === 'object' && 'code' in r && r.ortLoads) {
          out.ortLoads = true;
          if (out.verdict === 'refused') ortLoads.push(out);
        }
        if (t.name === 'inspect') inspected = out.verdict;
        counts[out.verdict]++;
        const tc = (byTarget[label] ??= {});
        tc[out.verdict] = (tc[out.verdict] ?? 0) + 1;
        runs++;
        if (FAILURES.includes(out.verdict)) failures.push(out);
        o.onOutcome?.(out);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await runner.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    seed: o.seed,
    mutants: o.count,
    runs,
    counts,
    byTarget,
    byKind,
    skipped,
    failures,
    ortRefused,
    ortLoads,
    seconds: (performance.now() - t0) / 1000,
  };
}
