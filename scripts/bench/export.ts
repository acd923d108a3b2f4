// `npm run bench:export`: accuracy, size and latency of the fp32 / fp16 / int8 exports of a trained student, all
// measured in one run on this machine, written as the export section of BENCHMARKS.md (and bench-results/export.json).
// Usage: node --import tsx scripts/bench/export.ts [--model trained.onnx] [--epochs 3] [--threads 1,2]
// Without --model it trains zoo:resnet8 on the embedded Fashion-MNIST subset first. Not a test: numbers, no assertions.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_DATA } from '../../src/pipeline/assets.js';
import { percentile } from '../../src/eval/latency.js';
import { evaluateModel } from '../../src/eval/index.js';
import { exportModel, writeExport, type Format } from '../../src/export/index.js';
import { engineVersions, openRunner, type InferenceRunner } from '../../src/runtime/inference.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { cli } from '../../test/cli/helpers.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const outDir = join(root, 'bench-results/export');
const epochs = arg('epochs', '3');
const threadList = arg('threads', '1,2').split(',').map(Number);
const ROUNDS = 3,
  PER_ROUND = 10,
  WARMUP = 5;
const ctx = { json: true, verbose: false, print: () => {}, log: (l: string) => console.error(l) };

async function trainedModel(): Promise<{ path: string; command: string }> {
  const given = arg('model', '');
  if (given) return { path: given, command: `(given) ${given}` };
  const argv = [
    'train',
    '--model',
    'zoo:resnet8',
    '--epochs',
    epochs,
    '--threads',
    String(cpus().length),
    '--out',
    join(outDir, 'train'),
    '--json',
  ];
  const r = await cli(argv);
  if (r.code !== 0) throw new Error(`training failed: ${r.stderr}`);
  return { path: join(outDir, 'train/model.onnx'), command: `onnx-distill ${argv.join(' ').replace(root, '')}` };
}

// Median and spread of interleaved timings: ROUNDS rounds, each running every format PER_ROUND times in turn, so
// drift on a shared machine lands on all formats alike.
async function latencies(
  files: Record<Format, string>,
  input: number[],
  batch: number,
  threads: number,
): Promise<Record<Format, { median: number; p95: number; min: number; max: number; runs: number }>> {
  const runners = {} as Record<Format, InferenceRunner>;
  for (const [f, p] of Object.entries(files) as [Format, string][])
    runners[f] = await openRunner('node', readFileSync(p), { threads });
  const dims = [batch, ...input];
  const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 12.9898) * 1.5);
  const times: Record<string, number[]> = {};
  for (const r of Object.values(runners)) for (let i = 0; i < WARMUP; i++) await r.run(x, dims);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [f, r] of Object.entries(runners)) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = process.hrtime.bigint();
        await r.run(x, dims);
        (times[f] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  }
  for (const r of Object.values(runners)) await r.close();
  const out = {} as Record<Format, { median: number; p95: number; min: number; max: number; runs: number }>;
  for (const [f, t] of Object.entries(times)) {
    t.sort((a, b) => a - b);
    out[f as Format] = {
      median: percentile(t, 0.5),
      p95: percentile(t, 0.95),
      min: t[0]!,
      max: t[t.length - 1]!,
      runs: t.length,
    };
  }
  return out;
}

mkdirSync(outDir, { recursive: true });
const model = await trainedModel();
const formats: Format[] = ['fp32', 'fp16', 'int8'];
const files = {} as Record<Format, string>;
const exports: Record<string, unknown> = {};
for (const f of formats) {
  const r = await exportModel(model.path, { format: f, data: EMBEDDED_DATA, threads: 1, verifyImages: 2000 }, ctx);
  files[f] = join(outDir, `model.${f}.onnx`);
  writeExport(r, files[f]);
  exports[f] = { verification: r.verification, calibration: r.calibration };
  console.error(`${f}: exported, agreement ${r.verification.node.top1Agreement}`);
}
const evals = {} as Record<Format, Awaited<ReturnType<typeof evaluateModel>>>;
for (const f of formats)
  evals[f] = await evaluateModel(files[f], { data: EMBEDDED_DATA, threads: 1, latencyBatches: [], runs: 1 }, ctx);
const input = evals.fp32.input;
const timing: { batch: number; threads: number; byFormat: Awaited<ReturnType<typeof latencies>> }[] = [];
const load: number[] = [];
for (const threads of threadList) {
  for (const batch of [1, 32]) {
    load.push(loadavg()[0]!);
    timing.push({ batch, threads, byFormat: await latencies(files, input, batch, threads) });
  }
}

const versions = engineVersions();
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memory_gb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  onnxruntime_node: versions.node,
  onnxruntime_web: versions.web,
  load_average: [Math.min(...load), Math.max(...load)],
};
writeFileAtomic(
  join(root, 'bench-results/export.json'),
  JSON.stringify({ date: new Date().toISOString(), machine, model, exports, evals, timing }, null, 2),
);

const pct = (x: number) => (x * 100).toFixed(2);
const kib = (f: Format) => statSync(files[f]).size / 1024;
const md = [
  '## Export: fp32 / fp16 / int8',
  '',
  `Taken ${new Date().toISOString().slice(0, 10)} with \`npm run bench:export\` on ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GiB; Node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}, onnxruntime-web ${machine.onnxruntime_web}; 1-minute load average ${machine.load_average.map((l) => l.toFixed(1)).join('–')} while timing (the machine is shared: with more runnable threads than cores, the 2-thread rows measure contention as much as the model).`,
  `Model: \`${model.command}\`, exported with \`onnx-distill export --format fp32|fp16|int8\` (int8: static QDQ, 512 calibration images, percentile ranges). Accuracy on the 2,000 held-out test images of the embedded subset; agreement = share of images whose top-1 class equals fp32's.`,
  `Latency: onnxruntime-node on the CPU, intra-op threads as stated, median of ${ROUNDS * PER_ROUND} timed runs after ${WARMUP} warm-up runs (spread = fastest–slowest), the three formats interleaved in ${ROUNDS} rounds of ${PER_ROUND} in the same process so the ratios share the machine's state.`,
  '',
  '| format | top-1 | top-5 | agreement with fp32 | max \\|Δlogit\\| | file KiB | size vs fp32 |',
  '|---|---|---|---|---|---|---|',
  ...formats.map((f) => {
    const v = (exports[f] as { verification: { node: { top1Agreement: number; maxAbsDelta: number } } }).verification
      .node;
    return `| ${f} | ${pct(evals[f].accuracy.top1)}% | ${pct(evals[f].accuracy.top5)}% | ${pct(v.top1Agreement)}% | ${v.maxAbsDelta.toExponential(2)} | ${kib(f).toFixed(1)} | ${(kib(f) / kib('fp32')).toFixed(2)}x |`;
  }),
  '',
  '| batch | threads | fp32 ms (spread) | fp16 ms (spread) | int8 ms (spread) | fp16 / fp32 | int8 / fp32 | int8 img/s |',
  '|---|---|---|---|---|---|---|---|',
  ...timing.map((t) => {
    const c = (f: Format) =>
      `${t.byFormat[f].median.toFixed(3)} (${t.byFormat[f].min.toFixed(3)}–${t.byFormat[f].max.toFixed(3)})`;
    return `| ${t.batch} | ${t.threads} | ${c('fp32')} | ${c('fp16')} | ${c('int8')} | ${(t.byFormat.fp16.median / t.byFormat.fp32.median).toFixed(2)} | ${(t.byFormat.int8.median / t.byFormat.fp32.median).toFixed(2)} | ${((1000 * t.batch) / t.byFormat.int8.median).toFixed(0)} |`;
  }),
  '',
  `Targets: int8 top-1 within 1.0 point of fp32 (${(100 * (evals.fp32.accuracy.top1 - evals.int8.accuracy.top1)).toFixed(2)} points: ${evals.fp32.accuracy.top1 - evals.int8.accuracy.top1 <= 0.01 ? 'met' : 'not met'}); int8 at batch 32 at most 0.6x fp32 (${timing
    .filter((t) => t.batch === 32)
    .map(
      (t) =>
        `${(t.byFormat.int8.median / t.byFormat.fp32.median).toFixed(2)}x at ${t.threads} thread${t.threads > 1 ? 's' : ''}`,
    )
    .join(
      ', ',
    )}); files about 1/2 (fp16: ${(kib('fp16') / kib('fp32')).toFixed(2)}) and 1/4 (int8: ${(kib('int8') / kib('fp32')).toFixed(2)}) of fp32.`,
];
const path = join(root, 'BENCHMARKS.md');
writeFileAtomic(
  path,
  replaceSection(existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n', 'export', md.join('\n')),
);
console.error(md.join('\n'));
