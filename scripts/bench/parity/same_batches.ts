// The decisive parity experiment (issue 23): both sides trained on the identical augmented batches, so that a gap
// between them is either the training (step, loop) or the batches each side draws. Per seed, with the parity recipe:
//   A. ours: `distill --save-artifacts` on our loader's batches (dumped by the same loader code);
//   B. PyTorch on its own batches (torch_parity.py --save-batches writes them);
//   C. our saved step (artifacts/contract.json, plain onnxruntime-node) replayed on PyTorch's batches;
//   D. PyTorch on our batches (torch_parity.py --batches).
// A vs D and C vs B compare the two trainings on identical inputs (loss per step, accuracy); A vs B is the parity
// benchmark's comparison. Results into bench-results/<section>.json and the `<section>` section of BENCHMARKS.md.
//   node --import tsx scripts/bench/parity/same_batches.ts [--seeds 0,1] [--epochs 4] [--method kd] [--threads 2]
// --streams-only --student S: is one side's batch stream better than the other's? Only our step trains (A and C), on
// our stream and on PyTorch's stream (drawn by torch_parity.py --draw-only), one student file (seed S) for every seed;
// into the `<section>-streams` section.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../../src/ir/model.js';
import { loadTrainingData } from '../../../src/pipeline/data.js';
import type { ArtifactContract } from '../../../src/train/artifacts.js';
import { writeFileAtomic } from '../../../src/util/fs.js';
import { replaceSection } from '../sections.js';

const root = new URL('../../..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const seeds = arg('seeds', '0,1').split(',').map(Number);
const epochs = Number(arg('epochs', '4'));
const method = arg('method', 'kd');
const threads = Number(arg('threads', '2'));
const streamsOnly = process.argv.includes('--streams-only');
const studentSeed = arg('student', '');
const section = arg('section', 'parity-same-batches') + (streamsOnly ? '-streams' : '');
const data = 'models/fashion-mnist-subset';
const py = join(root, 'scripts/bench/parity/torch_parity.py');
const out = join(root, 'bench-results', section);
const teacherPath = join(root, 'models/fashion-mnist-teacher/model.onnx');
const B = 128;
mkdirSync(out, { recursive: true });
const load: number[] = [loadavg()[0]!];

function sh(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}
const lastJson = <T>(s: string) => JSON.parse(s.slice(s.lastIndexOf('\n{') + 1)) as T;

// A side's run: test accuracy after each epoch and [loss, ce, kd?] of every step.
interface Trace {
  accs: number[];
  steps: number[][];
  // Epoch means of the same, when the steps are not kept (our own run: its history).
  epochs?: number[][];
}

// Our loader's training batches for (seed, epoch), exactly as `distill` feeds them, written in torch_parity's format.
async function dumpOurBatches(seed: number, dir: string): Promise<void> {
  const quiet = { json: true, log: () => {} } as unknown as Parameters<typeof loadTrainingData>[2];
  const d = await loadTrainingData(
    data,
    { model: studentOf(seed), seed, strict: false, augment: 'cifar', mean: [0.286], std: [0.353] },
    quiet,
  );
  const xs: Float32Array[] = [],
    ys: number[] = [];
  for (let e = 0; e < epochs; e++)
    for await (const b of d.train.batches({ batchSize: B, epoch: e, seed, shuffle: true, dropLast: true })) {
      xs.push(Float32Array.from(b.x));
      ys.push(...b.y);
    }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'x.f32'), Buffer.concat(xs.map((x) => Buffer.from(x.buffer))));
  writeFileSync(join(dir, 'y.i32'), Buffer.from(Int32Array.from(ys).buffer));
}

// Our saved training step run by a plain onnxruntime-node loop (as contract.json says) on a batches folder.
async function replay(art: string, dir: string, student: string): Promise<Trace> {
  const c = JSON.parse(readFileSync(join(art, 'contract.json'), 'utf8')) as ArtifactContract;
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const step = await ort.InferenceSession.create(join(art, c.step.file), opts);
  const evalS = await ort.InferenceSession.create(join(art, c.eval.file), opts);
  const state: Record<string, ort.Tensor> = {
    ...(await (await ort.InferenceSession.create(join(art, c.initialState.file), opts)).run({})),
  };
  for (const z of c.initialState.zeroSlots)
    state[z.name] = new ort.Tensor('float32', new Float32Array(z.shape.reduce((a, b) => a * b, 1)), z.shape);
  const xb = readFileSync(join(dir, 'x.f32')),
    yb = readFileSync(join(dir, 'y.i32'));
  const x = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
  const y = new Int32Array(yb.buffer, yb.byteOffset, yb.byteLength / 4);
  const test = await loadTrainingData(
    data,
    { model: student, seed: 0, strict: false, augment: 'none', mean: [0.286], std: [0.353] },
    {
      json: true,
      log: () => {},
    } as unknown as Parameters<typeof loadTrainingData>[2],
  );
  const px = 28 * 28,
    K = 10,
    spe = c.stepsPerEpoch;
  const scalar = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);
  const trace: Trace = { accs: [], steps: [] };
  for (let s = 0; s < epochs * spe; s++) {
    const e = Math.floor(s / spe);
    const labels = new Float32Array(B * K);
    for (let k = 0; k < B; k++) labels[k * K + y[s * B + k]!] = 1;
    const feeds: Record<string, ort.Tensor> = {
      [c.step.image.input]: new ort.Tensor('float32', x.subarray(s * B * px, (s + 1) * B * px), c.step.image.shape),
      [c.step.labels!.input]: new ort.Tensor('float32', labels, [B, K]),
      [c.step.lr.input]: scalar(c.step.lr.perStep[s]!),
    };
    for (const w of c.step.termWeights) feeds[w.input] = scalar(w.perEpoch[e]!);
    for (const name of step.inputNames) feeds[name] ??= state[name]!;
    const r = await step.run(feeds);
    for (const [from, into] of Object.entries(c.step.carry)) state[into] = r[from]!;
    trace.steps.push([
      r.loss!.data[0] as number,
      ...Object.values(c.step.report.terms).map((t) => r[t]!.data[0] as number),
    ]);
    if ((s + 1) % spe) continue;
    let ok = 0;
    for await (const b of test.val!.batches({ batchSize: 500, epoch: 0, seed: 0, shuffle: false, dropLast: false })) {
      const f: Record<string, ort.Tensor> = { [c.eval.image]: new ort.Tensor('float32', b.x, [b.n, 1, 28, 28]) };
      for (const n of c.eval.stateInputs) f[n] = state[n]!;
      const z = (await evalS.run(f))[c.eval.outputs[0]!]!.data as Float32Array;
      for (let i = 0; i < b.n; i++) {
        let m = 0;
        for (let j = 1; j < K; j++) if (z[i * K + j]! > z[i * K + m]!) m = j;
        if (m === b.y[i]) ok++;
      }
    }
    trace.accs.push(ok / test.val!.size);
  }
  return trace;
}

// The student file a seed trains: its own, or one for every seed (--student).
const studentOf = (seed: number) => join(out, `student-s${studentSeed || seed}.onnx`);

function torch(seed: number, batches: { save?: string; read?: string; drawOnly?: boolean }): Trace {
  const j = lastJson<{ accs: number[]; step_losses: number[][] }>(
    sh('/usr/bin/python3', [
      py,
      'train',
      '--student',
      studentOf(seed),
      '--method',
      method,
      '--seed',
      String(seed),
      '--data',
      data,
      '--epochs',
      String(epochs),
      '--teacher',
      join(out, 'teacher.json'),
      '--threads',
      '1',
      ...(batches.save ? ['--save-batches', batches.save] : []),
      ...(batches.read ? ['--batches', batches.read] : []),
      ...(batches.drawOnly ? ['--draw-only'] : []),
    ]),
  );
  return { accs: j.accs ?? [], steps: j.step_losses ?? [] };
}

function ours(seed: number, art: string): Trace {
  const dir = join(art, '..');
  const argv = ['bin/onnx-distill.js', 'distill', '--student', studentOf(seed), '--method', method];
  argv.push(
    '--teacher',
    teacherPath,
    '--data',
    data,
    '--epochs',
    String(epochs),
    '--batch-size',
    String(B),
    '--lr',
    '0.05',
  );
  argv.push(
    '--optimizer',
    'sgd',
    '--momentum',
    '0.9',
    '--weight-decay',
    '5e-4',
    '--schedule',
    'cosine',
    '--lr-update',
    'step',
  );
  argv.push('--warmup', '0', '--augment', 'cifar', '--mean', '0.2860', '--std', '0.3530', '--seed', String(seed));
  argv.push('--threads', String(threads), '--out', dir, '--save-artifacts', art, '--json');
  const j = JSON.parse(sh(process.execPath, argv)) as {
    history: { loss: number; terms: Record<string, number>; networks: Record<string, { valAcc?: number }> }[];
  };
  return {
    accs: j.history.map((h) => h.networks.student?.valAcc ?? NaN),
    steps: [],
    epochs: j.history.map((h) => [h.loss, ...Object.values(h.terms)]),
  };
}

// Epoch means of [loss, ce, kd] and how far two traces on the same batches drift apart.
const epochMeans = (t: Trace) =>
  t.epochs ??
  t.accs.map((_, e) => {
    const rows = t.steps.slice((e * t.steps.length) / t.accs.length, ((e + 1) * t.steps.length) / t.accs.length);
    return rows[0]!.map((_, k) => rows.reduce((a, r) => a + r[k]!, 0) / rows.length);
  });
const firstOver = (a: Trace, b: Trace, tol: number) =>
  a.steps.findIndex((r, i) => Math.abs(r[0]! - b.steps[i]![0]!) > tol);

interface SeedResult {
  seed: number;
  ourOwn: number[];
  torchOnOurs: number[];
  oursOnTorch: number[];
  torchOwn: number[];
  // Step-by-step agreement on identical batches (ours replayed on PyTorch's batches vs PyTorch on them).
  lossDiff: { step0: number; first1e4: number; first1e2: number };
  epochLoss: { oursOnTorch: number[][]; torchOwn: number[][]; ourOwn: number[][]; torchOnOurs: number[][] };
}

const results: SeedResult[] = [];
const streams: { seed: number; ourStream: number[]; torchStream: number[]; kd: number[][][] }[] = [];
if (!existsSync(join(out, 'teacher.json'))) {
  const t = loadModel(teacherPath);
  const weights = t.graph.initializers.map((v) => [
    v.name,
    { shape: v.constant!.dims, values: Array.from(v.constant!.data as Float32Array) },
  ]);
  writeFileAtomic(join(out, 'teacher.json'), JSON.stringify(Object.fromEntries(weights)));
}
for (const seed of seeds) {
  const student = studentOf(seed);
  if (!existsSync(student))
    sh('/usr/bin/python3', [py, 'export', '--seed', studentSeed || String(seed), '--out', student]);
  const art = join(out, `ours-s${seed}`, 'artifacts');
  const ourBatches = join(out, `batches-ours-s${seed}`),
    torchBatches = join(out, `batches-torch-s${seed}`);
  const A = ours(seed, art);
  if (streamsOnly) {
    torch(seed, { save: torchBatches, drawOnly: true });
    const C = await replay(art, torchBatches, student);
    rmSync(torchBatches, { recursive: true, force: true });
    load.push(loadavg()[0]!);
    streams.push({ seed, ourStream: A.accs, torchStream: C.accs, kd: [epochMeans(A), epochMeans(C)] });
    process.stderr.write(`${JSON.stringify(streams[streams.length - 1])}\n`);
    writeStreams();
    continue;
  }
  await dumpOurBatches(seed, ourBatches);
  const Bt = torch(seed, { save: torchBatches });
  const C = await replay(art, torchBatches, student);
  const D = torch(seed, { read: ourBatches });
  rmSync(ourBatches, { recursive: true, force: true });
  rmSync(torchBatches, { recursive: true, force: true });
  load.push(loadavg()[0]!);
  const r: SeedResult = {
    seed,
    ourOwn: A.accs,
    torchOnOurs: D.accs,
    oursOnTorch: C.accs,
    torchOwn: Bt.accs,
    lossDiff: {
      step0: Math.abs(C.steps[0]![0]! - Bt.steps[0]![0]!),
      first1e4: firstOver(C, Bt, 1e-4),
      first1e2: firstOver(C, Bt, 1e-2),
    },
    epochLoss: {
      oursOnTorch: epochMeans(C),
      torchOwn: epochMeans(Bt),
      ourOwn: epochMeans(A),
      torchOnOurs: epochMeans(D),
    },
  };
  results.push(r);
  process.stderr.write(`${JSON.stringify(r)}\n`);
  writeFileAtomic(
    join(root, 'bench-results', `${section}.json`),
    JSON.stringify({ date: new Date().toISOString(), epochs, method, results }, null, 2),
  );
  writeSection();
}

// The table so far (written after every seed: a long run that is stopped keeps what it measured).
function writeSection(): void {
  const pct = (v: number) => (100 * v).toFixed(2);
  const last = <T>(v: T[]): T => v[v.length - 1]!;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const kdIdx = method === 'kd' ? 2 : 1;
  const rows = results.map(
    (r) =>
      `| ${r.seed} | ${pct(last(r.ourOwn))} | ${pct(last(r.torchOnOurs))} | ${pct(last(r.oursOnTorch))} | ${pct(last(r.torchOwn))} | ${r.lossDiff.step0.toExponential(1)} / ${r.lossDiff.first1e4} / ${r.lossDiff.first1e2} | ${last(r.epochLoss.ourOwn)[kdIdx]!.toFixed(3)} / ${last(r.epochLoss.torchOnOurs)[kdIdx]!.toFixed(3)} | ${last(r.epochLoss.oursOnTorch)[kdIdx]!.toFixed(3)} / ${last(r.epochLoss.torchOwn)[kdIdx]!.toFixed(3)} |`,
  );
  const col = (f: (r: SeedResult) => number[]) => pct(mean(results.map((r) => last(f(r)))));
  const lines = [
    `Taken ${new Date().toISOString().slice(0, 10)} with \`node --import tsx scripts/bench/parity/same_batches.ts --seeds ${results.map((r) => r.seed).join(',')} --epochs ${epochs} --method ${method}\` on ${cpus()[0]?.model.trim()}, ${cpus().length} cores shared with other jobs (1-minute load ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}; accuracy does not depend on it); ${threads} onnxruntime threads, 1 PyTorch thread; Node ${process.version}, PyTorch 1.13 eager (Debian).`,
    `Same data, student files (PyTorch-exported under each seed), teacher and recipe as the \`parity\` section, ${method.toUpperCase()}, ${epochs} epochs. Each side also trains on the other side's augmented batches (same order, same crops and flips, written to a file): ours is our saved step (\`--save-artifacts\`) run from its contract.json by a plain onnxruntime-node loop, PyTorch is torch_parity.py \`--batches\`. Test accuracy (%) after the last epoch; "loss Δ" compares our step with PyTorch on PyTorch's batches: |Δloss| at step 0 / first step where |Δloss| > 1e-4 / first step > 1e-2 (float rounding grows through SGD: a chaotic system); last-epoch mean training KD term on each batch stream.`,
    '',
    "| seed | ours, our batches | PyTorch, our batches | ours, PyTorch's batches | PyTorch, its batches | loss Δ: step 0 / >1e-4 / >1e-2 | KD term, our batches: ours / PyTorch | KD term, PyTorch's batches: ours / PyTorch |",
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    `| mean | ${col((r) => r.ourOwn)} | ${col((r) => r.torchOnOurs)} | ${col((r) => r.oursOnTorch)} | ${col((r) => r.torchOwn)} | | | |`,
  ];
  const md = join(root, 'BENCHMARKS.md');
  writeFileAtomic(
    md,
    replaceSection(
      readFileSync(md, 'utf8'),
      section,
      [`## Parity with PyTorch on identical batches (\`scripts/bench/parity/same_batches.ts\`)`, '', ...lines].join(
        '\n',
      ),
    ),
  );
  console.log(lines.join('\n'));
}

// --streams-only: our step on our stream and on PyTorch's, per seed, with the paired difference's mean ± standard error.
function writeStreams(): void {
  const pct = (v: number) => (100 * v).toFixed(2);
  const lastOf = (v: number[]) => v[v.length - 1]!;
  const d = streams.map((r) => lastOf(r.ourStream) - lastOf(r.torchStream));
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const se = d.length > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1) / d.length) : NaN;
  const kd = (r: (typeof streams)[number], i: number) =>
    lastOf(r.kd[i]!.map((e) => e[method === 'kd' ? 2 : 1]!)).toFixed(3);
  const lines = [
    `Taken ${new Date().toISOString().slice(0, 10)} with \`node --import tsx scripts/bench/parity/same_batches.ts --streams-only --student ${studentSeed || '(each seed)'} --seeds ${streams.map((r) => r.seed).join(',')} --epochs ${epochs} --method ${method}\` on ${cpus()[0]?.model.trim()}, ${cpus().length} cores shared with other jobs (1-minute load ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}); ${threads} onnxruntime threads; Node ${process.version}.`,
    `Only our step trains, twice per seed: on our loader's batch stream (\`distill --seed S\`) and on the stream torch_parity.py draws under the same seed (its permutation, crops and flips, \`--draw-only\`), from the same student file${studentSeed ? ` (PyTorch-exported under seed ${studentSeed})` : ''}. Test accuracy (%) after the last epoch and the last epoch's mean training KD term. The difference is the streams' alone.`,
    '',
    "| seed | our stream % | PyTorch's stream % | difference | KD term, our stream / PyTorch's |",
    '|---|---|---|---|---|',
    ...streams.map(
      (r, i) =>
        `| ${r.seed} | ${pct(lastOf(r.ourStream))} | ${pct(lastOf(r.torchStream))} | ${(100 * d[i]!).toFixed(2)} | ${kd(r, 0)} / ${kd(r, 1)} |`,
    ),
    `| mean ± s.e. | | | ${(100 * m).toFixed(2)} ± ${(100 * se).toFixed(2)} | |`,
  ];
  const md = join(root, 'BENCHMARKS.md');
  writeFileAtomic(
    md,
    replaceSection(
      readFileSync(md, 'utf8'),
      section,
      [
        `## Parity with PyTorch: our batch stream against PyTorch's, our step on both (\`same_batches.ts --streams-only\`)`,
        '',
        ...lines,
      ].join('\n'),
    ),
  );
  console.log(lines.join('\n'));
}
