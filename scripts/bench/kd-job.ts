// The whole 4-epoch KD job against the same job in PyTorch (issue: training speed): `onnx-distill distill --method kd`
// on the embedded Fashion-MNIST subset with the shipped teacher, as a child process, with the teacher cache off, cold
// (a fresh cache folder) and warm (the same command again), next to scripts/bench/torch_kd.py (same student
// architecture, the same teacher weights dumped from its ONNX file, data, batch, optimizer, schedule and loss).
// Wall time is the whole child process, measured here for both (startup, data, training, evaluation; ours also
// exports); peak RSS from /usr/bin/time. Writes bench-results/kd-job.json and its section of BENCHMARKS.md.
//   node --import tsx scripts/bench/kd-job.ts [--epochs 4] [--threads 2] [--student cnn]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/ir/model.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const epochs = Number(arg('epochs', '4'));
const threads = Number(arg('threads', String(cpus().length)));
const data = 'models/fashion-mnist-subset';
const teacherPath = 'models/fashion-mnist-teacher/model.onnx';
const out = join(root, 'bench-results', 'kd-job');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The teacher's weights for the PyTorch twin, by initializer name.
const teacher = loadModel(join(root, teacherPath));
const weights = Object.fromEntries(
  teacher.graph.initializers.map((v) => [
    v.name,
    { shape: v.constant!.dims, values: Array.from(v.constant!.data as Float32Array) },
  ]),
);
writeFileAtomic(join(out, 'teacher.json'), JSON.stringify(weights));

interface Timed {
  wall_s: number;
  peak_rss_mb: number | null;
  stdout: string;
}
const haveTime = existsSync('/usr/bin/time');
// Run a child, timing its wall clock here and reading its peak RSS from /usr/bin/time -f %M (KiB, last stderr line).
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const t0 = performance.now();
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env })
    : spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr.slice(-1200)}`);
  const rss = haveTime ? Number(r.stderr.trim().split('\n').pop()) / 1024 : null;
  return { wall_s: wall, peak_rss_mb: rss, stdout: r.stdout };
}

interface OursJson {
  networks: { role: string; bestValAcc: number | null; lastValAcc: number | null }[];
  history: { seconds: number; imagesPerSecond: number }[];
}
const ours = (label: string, cache: string) => {
  const t = timed(process.execPath, [
    'bin/onnx-distill.js',
    'distill',
    '--method',
    'kd',
    '--student',
    `zoo:${arg('student', 'cnn')}`,
    '--teacher',
    teacherPath,
    '--data',
    data,
    '--epochs',
    String(epochs),
    '--batch-size',
    '128',
    '--threads',
    String(threads),
    '--seed',
    '0',
    '--teacher-cache',
    cache,
    '--out',
    join(out, `ours-${label.replace(/ /g, '-')}`),
    '--json',
  ]);
  const j = JSON.parse(t.stdout.slice(t.stdout.indexOf('{'))) as OursJson;
  const s = j.networks.find((n) => n.role === 'student')!;
  return {
    label,
    wall_s: t.wall_s,
    peak_rss_mb: t.peak_rss_mb,
    epoch_s: j.history.map((h) => h.seconds),
    img_per_s: j.history.map((h) => h.imagesPerSecond),
    best_acc: s.bestValAcc,
    last_acc: s.lastValAcc,
  };
};
const load: number[] = [loadavg()[0]!];
const cacheDir = join(out, 'cache');
const runs = [ours('no cache', 'off'), ours('cold cache', cacheDir), ours('warm cache', cacheDir)];
load.push(loadavg()[0]!);
let torch: (ReturnType<typeof ours> & { system: string; teacher_acc: number }) | undefined;
let torchError: string | undefined;
try {
  const t = timed('/usr/bin/python3', [
    'scripts/bench/torch_kd.py',
    '--data',
    data,
    '--teacher',
    join(out, 'teacher.json'),
    '--epochs',
    String(epochs),
    '--threads',
    String(threads),
  ]);
  const j = JSON.parse(t.stdout.trim().split('\n').pop()!) as {
    system: string;
    epochs: { epoch_s: number; img_per_s: number }[];
    best_acc: number;
    last_acc: number;
    teacher_acc: number;
  };
  torch = {
    label: 'PyTorch',
    system: j.system,
    teacher_acc: j.teacher_acc,
    wall_s: t.wall_s,
    peak_rss_mb: t.peak_rss_mb,
    epoch_s: j.epochs.map((e) => e.epoch_s),
    img_per_s: j.epochs.map((e) => e.img_per_s),
    best_acc: j.best_acc,
    last_acc: j.last_acc,
  };
} catch (err: unknown) {
  torchError = err instanceof Error ? err.message.split('\n')[0] : String(err);
}
load.push(loadavg()[0]!);
writeFileAtomic(
  join(root, 'bench-results', 'kd-job.json'),
  JSON.stringify({ epochs, threads, load_average: load, runs, torch, torchError }, null, 2),
);

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (v: number | null | undefined, d: number) => (v === null || v === undefined ? '—' : v.toFixed(d));
const row = (r: ReturnType<typeof ours>) =>
  `| ${r.label} | ${r.wall_s.toFixed(1)} | ${torch ? (r.wall_s / torch.wall_s).toFixed(2) : '—'} | ${r.epoch_s.map((s) => s.toFixed(1)).join(', ')} | ${fmt(median(r.img_per_s.length > 1 ? r.img_per_s.slice(1) : r.img_per_s), 0)} | ${fmt(r.peak_rss_mb, 0)} | ${fmt((r.best_acc ?? NaN) * 100, 2)} / ${fmt((r.last_acc ?? NaN) * 100, 2)} |`;
const body = [
  '## A 4-epoch KD job, whole process: ours vs PyTorch',
  '',
  `Taken ${new Date().toISOString().slice(0, 10)} with \`node --import tsx scripts/bench/kd-job.ts --epochs ${epochs} --threads ${threads}\` (part of \`npm run bench -- --all\`) on ${cpus()[0]?.model.trim()}, ${cpus().length} cores; ${threads} threads for both; Node ${process.version}${torch ? `, ${torch.system}` : ''}; 1-minute load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}.`,
  `Job: \`onnx-distill distill --method kd --student zoo:cnn --teacher ${teacherPath} --data ${data} --epochs ${epochs} --batch-size 128 --seed 0 --teacher-cache off|<dir>\` (0.1·CE + 0.9·τ²·KL at τ 4, SGD 0.05 cosine, momentum 0.9, wd 5e-4, pad-4 crop + flip, 12,000 training and 2,000 test images). PyTorch: scripts/bench/torch_kd.py, the same recipe with the teacher's weights loaded into its PyTorch twin (zoo:cnn-wide). Wall = the whole child process as timed by this script (ours also writes its checkpoint and ONNX exports); epoch s = each epoch's training plus evaluation as each system reports it; img/s = median over epochs 2–${epochs}. Warm cache = the cold-cache command run again (every epoch's teacher logits replayed).`,
  ...(torch
    ? [
        `The teacher's PyTorch twin scores ${(torch.teacher_acc * 100).toFixed(2)}% on the 2,000 test images (a check of the weight transfer).`,
      ]
    : []),
  ...(torchError ? ['', `PyTorch did not run: ${torchError}`] : []),
  '',
  '| run | wall s | × PyTorch | epoch s | train img/s | peak RSS MB | best / last test acc % |',
  '|---|---|---|---|---|---|---|',
  ...runs.map(row),
  ...(torch ? [row(torch)] : []),
].join('\n');
const path = join(root, 'BENCHMARKS.md');
const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
writeFileAtomic(path, replaceSection(text, 'kd-job', body));
console.log(body);
