// Distillation benchmark (issue: engine): one row per method on the same recipe and epochs, seeds as asked, each run
// a child `onnx-distill distill --json` process; writes bench-results/distill.json and its section of BENCHMARKS.md.
// Not a test: numbers, no assertions.
//   node --import tsx scripts/bench/distill.ts [--data fashion-mnist] [--epochs 4] [--seeds 0,1,2] [--students cnn,resnet8]
//     [--rows ce,kd,...] [--section NAME]   (a section other than `distill` keeps the main table as it is)
//     [--all-seeds]   (the feature rows too run on every seed)
//   The staged seed methods' table: --rows ce,kd,pkt,sokd,mgd-mag,mgd-mas,ifm --all-seeds --section distill-staged
//   Distillation from unlabeled images (the IDX data's image files alone, accuracy via --val-data on the labelled
//   test split): --rows kd,kd-unlabeled,kd-unlabeled-pseudo --section distill-unlabeled
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { NAMED } from '../../src/data/sources/named.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const data = arg('data', 'fashion-mnist');
const epochs = Number(arg('epochs', '4'));
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const students = arg('students', 'cnn').split(',');
const threads = Number(arg('threads', String(cpus().length)));
const only = arg('rows', '').split(',').filter(Boolean);
const section = arg('section', 'distill');
const allSeeds = process.argv.includes('--all-seeds');
const out = join(root, 'bench-results', section);

interface Net {
  name: string;
  role: string;
  params: number;
  bestValAcc: number | null;
  lastValAcc: number | null;
  lastAgreement?: number;
  lastKl?: number | null;
}
interface Result {
  networks: Net[];
  ensemble: { bestValAcc: number; lastValAcc: number } | null;
  history: { seconds: number; imagesPerSecond: number }[];
}

// Rows: method, students per run, whether it runs on every seed (the feature methods run on the first seed only unless
// --all-seeds), and the row's key (for --rows and folder names) and extra flags when one method has variants.
interface Row {
  label: string;
  method: string;
  k: number;
  allSeeds: boolean;
  key?: string;
  flags?: string[];
  unlabeled?: boolean;
}
const ROWS: Row[] = [
  { label: 'CE', method: 'ce', k: 1, allSeeds: true },
  { label: 'KD', method: 'kd', k: 1, allSeeds: true },
  { label: 'DML (K = 2)', method: 'dml', k: 2, allSeeds: true },
  { label: 'KDML (K = 2)', method: 'kdml', k: 2, allSeeds: true },
  { label: 'FitNet', method: 'fitnet', k: 1, allSeeds: false },
  { label: 'AT', method: 'at', k: 1, allSeeds: false },
  { label: 'SP', method: 'sp', k: 1, allSeeds: false },
  { label: 'PKT', method: 'pkt', k: 1, allSeeds: false },
  { label: 'DKD', method: 'dkd', k: 1, allSeeds: false },
  { label: 'SOKD', method: 'sokd', k: 1, allSeeds: true },
  { label: 'MGD (MAG) on KD', method: 'mgd+kd', k: 1, allSeeds: true, key: 'mgd-mag', flags: ['--mgd-variant', 'mag'] },
  { label: 'MGD (MAS) on KD', method: 'mgd+kd', k: 1, allSeeds: true, key: 'mgd-mas', flags: ['--mgd-variant', 'mas'] },
  { label: 'IFM (proxy teacher)', method: 'ifm', k: 1, allSeeds: true },
  { label: 'KD, unlabeled images', method: 'kd', k: 1, allSeeds: true, key: 'kd-unlabeled', unlabeled: true },
  {
    label: 'KD + pseudo-labels, unlabeled images',
    method: 'kd',
    k: 1,
    allSeeds: true,
    key: 'kd-unlabeled-pseudo',
    unlabeled: true,
    flags: ['--pseudo-labels'],
  },
  // Issue 20's terms (section distill-logit: --rows kd,dkd,dist,kd-ls,dkd-ls,ctkd,wsld,nkd,reviewkd,crd --all-seeds). The LS
  // rows use the logit-standardization-KD README's CIFAR settings: base temperature 2, KD weight 9.
  { label: 'DIST', method: 'dist', k: 1, allSeeds: false },
  {
    label: 'KD + LS (τ 2, KD weight 9)',
    method: 'kd',
    k: 1,
    allSeeds: false,
    key: 'kd-ls',
    flags: ['--logit-standardize', '--tau', '2', '--terms', 'ce=0.1,kd=9'],
  },
  {
    label: 'DKD + LS (τ 2)',
    method: 'dkd',
    k: 1,
    allSeeds: false,
    key: 'dkd-ls',
    flags: ['--logit-standardize', '--tau', '2'],
  },
  { label: 'CTKD', method: 'ctkd', k: 1, allSeeds: false },
  { label: 'WSLD', method: 'wsld', k: 1, allSeeds: false },
  { label: 'NKD', method: 'nkd', k: 1, allSeeds: false },
  { label: 'ReviewKD', method: 'reviewkd', k: 1, allSeeds: false },
  { label: 'CRD', method: 'crd', k: 1, allSeeds: false },
];

// The data's images without their labels: its IDX image files linked into a folder of their own.
function unlabeledCopy(): string {
  const src = NAMED[data]?.dir ?? resolve(root, data);
  const dir = join(out, 'unlabeled-data');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src).filter((n) => /images[-.]idx3-ubyte/.test(n)))
    symlinkSync(join(src, f), join(dir, f));
  return dir;
}
const keyOf = (r: Row) => r.key ?? r.method;

function distill(student: string, row: Row, seed: number): { r: Result; wall: number } {
  const { method, k } = row;
  const dir = join(out, `${student}-${keyOf(row)}-s${seed}`);
  const source = row.unlabeled ? ['--data', unlabeledCopy(), '--val-data', data] : ['--data', data];
  const argv = [
    'bin/onnx-distill.js',
    'distill',
    '--student',
    `zoo:${student}`,
    '--method',
    method,
    ...source,
    '--epochs',
    String(epochs),
    '--seed',
    String(seed),
    '--threads',
    String(threads),
    '--out',
    dir,
    '--json',
    ...(k > 1 ? ['--students', String(k)] : []),
    ...(row.flags ?? []),
  ];
  const t = performance.now();
  const p = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) throw new Error(`distill ${method} ${student} seed ${seed} failed:\n${p.stderr}`);
  process.stderr.write(`  ${student} ${method} seed ${seed}: ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
  return { r: JSON.parse(p.stdout) as Result, wall: (performance.now() - t) / 1000 };
}

const stat = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return { mean: m, std: sd, n: v.length };
};
const fmt = (s: { mean: number; std: number; n: number }) =>
  `${(100 * s.mean).toFixed(2)}${s.n > 1 ? ` ± ${(100 * s.std).toFixed(2)}` : ''}`;

const table: string[] = [];
// Unlabeled rows add the last epoch's agreement with the teacher and KL(teacher ‖ student) on the held-out images.
const withFidelity = ROWS.some((r) => r.unlabeled && (!only.length || only.includes(keyOf(r))));
const json: Record<string, unknown>[] = [];
const epochCost: Record<string, number[]> = {};
for (const student of students) {
  for (const row of ROWS.filter((r) => !only.length || only.includes(keyOf(r)))) {
    const runs = (row.allSeeds || allSeeds ? seeds : seeds.slice(0, 1)).map((s) => distill(student, row, s));
    const first = runs[0]!.r;
    // Students, the ensemble, an online teacher (kdml) and trained auxiliary networks (sokd's KBM: the improved teacher).
    const members = [
      ...first.networks.filter((n) => n.role === 'student').map((n) => n.name),
      ...(first.ensemble ? ['ensemble'] : []),
      ...first.networks
        .filter(
          (n) => (n.role === 'teacher' && n.bestValAcc !== null) || (n.role === 'auxiliary' && n.bestValAcc !== null),
        )
        .map((n) => n.name),
    ];
    const secs = runs.flatMap((x) => x.r.history.map((h) => h.seconds));
    const perEpoch = secs.reduce((a, b) => a + b, 0) / secs.length;
    (epochCost[`${student}:${keyOf(row)}`] ??= []).push(perEpoch);
    const imgs = runs.flatMap((x) => x.r.history.map((h) => h.imagesPerSecond));
    for (const m of members) {
      const pick = (x: Result, key: 'bestValAcc' | 'lastValAcc') =>
        m === 'ensemble' ? x.ensemble![key] : x.networks.find((n) => n.name === m)![key]!;
      const best = stat(runs.map((x) => pick(x.r, 'bestValAcc')));
      const last = stat(runs.map((x) => pick(x.r, 'lastValAcc')));
      const net = (x: Result) => x.networks.find((n) => n.name === m);
      const agreement = runs.every((x) => net(x.r)?.lastAgreement !== undefined)
        ? stat(runs.map((x) => net(x.r)!.lastAgreement!))
        : undefined;
      const kl = runs.every((x) => typeof net(x.r)?.lastKl === 'number')
        ? stat(runs.map((x) => net(x.r)!.lastKl!))
        : undefined;
      const fidelity = withFidelity
        ? ` ${agreement ? fmt(agreement) : '—'} | ${kl ? `${kl.mean.toFixed(3)}${kl.n > 1 ? ` ± ${kl.std.toFixed(3)}` : ''}` : '—'} |`
        : '';
      table.push(
        `| ${student} | ${row.label} | ${m} | ${runs.length} | ${fmt(best)} | ${fmt(last)} |${fidelity} ${(runs.reduce((a, x) => a + x.wall, 0) / runs.length).toFixed(0)} | ${(imgs.reduce((a, b) => a + b, 0) / imgs.length).toFixed(0)} |`,
      );
      json.push({
        student,
        method: keyOf(row),
        member: m,
        seeds: runs.length,
        best,
        last,
        ...(agreement ? { agreement, kl } : {}),
        wallSeconds: runs.map((x) => x.wall),
        epochSeconds: perEpoch,
      });
    }
  }
}
const ratio = (s: string) => {
  const kd = epochCost[`${s}:kd`]?.[0];
  const ce = epochCost[`${s}:ce`]?.[0];
  return kd && ce ? `${(kd / ce).toFixed(2)}×` : '—';
};
const teacher = JSON.parse(readFileSync(join(root, 'models/fashion-mnist-teacher/teacher.json'), 'utf8')) as {
  architecture: string;
  testAccuracy: number;
};
const lines = [
  `Taken ${new Date().toISOString().slice(0, 10)} with \`npm run bench:distill -- --data ${data} --epochs ${epochs} --seeds ${seeds.join(',')} --students ${students.join(',')}${only.length ? ` --rows ${only.join(',')}` : ''}${allSeeds ? ' --all-seeds' : ''}${section === 'distill' ? '' : ` --section ${section}`}\` on ${cpus()[0]?.model.trim()}, ${cpus().length} cores; ${threads} onnxruntime threads; Node ${process.version}.`,
  `Teacher: the shipped \`models/fashion-mnist-teacher/model.onnx\` (${teacher.architecture}, ${(100 * teacher.testAccuracy).toFixed(2)}% on the 10,000 test images). Recipe for every row: SGD lr 0.05 cosine, momentum 0.9, wd 5e-4, batch 128, pad-crop + flip, ${epochs} epochs; each method's default terms and weights.`,
  'Validation accuracy (%) as mean ± std over the seeds (sample std), best and last epoch; wall time is the whole child process (data loading, compile, training, evaluation, export) per run.',
  ...(withFidelity
    ? [
        "Unlabeled rows: `--data` is a folder holding only the data's IDX image files (no labels: CE is left out, or trained on the teacher's argmax with --pseudo-labels), validation accuracy is measured with `--val-data` on the labelled test split; agreement (top-1, %) and KL(teacher ‖ student) are on the same test images without their labels, last epoch.",
      ]
    : []),
  '',
  `| student | method | network | seeds | best val acc % | last val acc % |${withFidelity ? ' agreement % | KL |' : ''} wall s / run | train img/s |`,
  `|---|---|---|---|---|---|${withFidelity ? '---|---|' : ''}---|---|`,
  ...table,
  '',
  `KD epoch cost over CE epoch cost (mean epoch seconds, same run): ${students.map((s) => `${s} ${ratio(s)}`).join(', ')}.`,
];
writeFileAtomic(
  join(root, 'bench-results', `${section}.json`),
  JSON.stringify({ date: new Date().toISOString(), data, epochs, seeds, rows: json }, null, 2),
);
const md = join(root, 'BENCHMARKS.md');
writeFileAtomic(
  md,
  replaceSection(
    existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n',
    section,
    [
      `## Distillation methods (\`npm run bench:distill\`${section === 'distill' ? '' : `, section ${section}`})`,
      '',
      ...lines,
    ].join('\n'),
  ),
);
console.log(lines.join('\n'));
