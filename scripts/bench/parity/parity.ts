// Parity with PyTorch (issue 23): the same student file, recipe and data trained by `onnx-distill distill` and by
// PyTorch eager (torch_parity.py), CE and KD from the shipped teacher (its PyTorch twin loads the same weights),
// several seeds each side; mean ± std of the best and last test accuracy, into bench-results/parity.json and the
// `parity` section of BENCHMARKS.md. Not a test: numbers, no assertions.
//   node --import tsx scripts/bench/parity/parity.ts [--data models/fashion-mnist-subset|fashion-mnist] [--epochs 4]
//     [--seeds 0,1,2] [--methods ce,kd] [--threads 2] [--torch-threads 1] [--recal 200] [--sides pytorch,ours]
//   --sides runs only those sides and keeps the other side's runs from bench-results/<section>.json (same data/epochs).
// Recipe (both sides): student = the zoo's cnn (PlainCNN 16/32/64/128) with PyTorch's default init under the seed,
// exported by PyTorch (eval mode, BatchNorm kept); RandomCrop(28, padding=4) + flip; Normalize(0.2860, 0.3530);
// batch 128, last batch dropped; SGD lr 0.05 momentum 0.9 wd 5e-4; cosine per step to 0; KD = 0.1 CE + 0.9 τ² KL, τ 4.
// Every setting is given to our run explicitly (a student file would otherwise get the fine-tuning defaults).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../../src/ir/model.js';
import { writeFileAtomic } from '../../../src/util/fs.js';
import { replaceSection } from '../sections.js';

const root = new URL('../../..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const data = arg('data', 'models/fashion-mnist-subset');
const dataDir = data === 'fashion-mnist' ? '/usr/share/datasets/fashion-mnist' : data;
const epochs = Number(arg('epochs', '4'));
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const methods = arg('methods', 'ce,kd').split(',');
const threads = Number(arg('threads', '2'));
// PyTorch's OpenMP pool spins: on a shared machine one thread is faster (the accuracy is the same).
const torchThreads = Number(arg('torch-threads', '1'));
const sides = arg('sides', 'pytorch,ours').split(',');
const recal = Number(arg('recal', '200'));
const section = arg('section', 'parity');
const py = join(root, 'scripts/bench/parity/torch_parity.py');
const out = join(root, 'bench-results', section);
mkdirSync(out, { recursive: true });

const teacherPath = join(root, 'models/fashion-mnist-teacher/model.onnx');
const teacherJson = join(out, 'teacher.json');
const teacher = loadModel(teacherPath);
writeFileAtomic(
  teacherJson,
  JSON.stringify(
    Object.fromEntries(
      teacher.graph.initializers.map((v) => [
        v.name,
        { shape: v.constant!.dims, values: Array.from(v.constant!.data as Float32Array) },
      ]),
    ),
  ),
);

function sh(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}
const lastJson = (s: string) => JSON.parse(s.slice(s.lastIndexOf('\n{') + 1)) as Record<string, unknown>;

interface Run {
  side: 'ours' | 'pytorch';
  method: string;
  seed: number;
  best: number;
  last: number;
  recal?: number;
  wall: number;
  accs: number[];
}
// One results file per side (the sides may run at the same time); the table reads both.
const resultsOf = (side: string) => join(root, 'bench-results', `${section}-${side}.json`);
const keptRuns = (side: string): Run[] => {
  const f = resultsOf(side);
  const kept = existsSync(f)
    ? (JSON.parse(readFileSync(f, 'utf8')) as { data: string; epochs: number; runs: Run[] })
    : undefined;
  return kept && kept.data === data && kept.epochs === epochs ? kept.runs : [];
};
const runs: Run[] = ['pytorch', 'ours'].filter((s) => !sides.includes(s)).flatMap(keptRuns);
const load: number[] = [loadavg()[0]!];

function ours(student: string, method: string, seed: number): Run {
  const dir = join(out, `ours-${method}-s${seed}`);
  const t = performance.now();
  const argv = [
    'bin/onnx-distill.js',
    'distill',
    '--student',
    student,
    '--method',
    method,
    '--teacher',
    teacherPath,
    '--data',
    data,
    '--epochs',
    String(epochs),
    '--batch-size',
    '128',
    '--lr',
    '0.05',
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
    '--warmup',
    '0',
    '--augment',
    'cifar',
    '--mean',
    '0.2860',
    '--std',
    '0.3530',
    '--seed',
    String(seed),
    '--threads',
    String(threads),
    '--out',
    dir,
    '--json',
    ...(recal ? ['--bn-recalibrate', String(recal)] : []),
  ];
  const j = JSON.parse(sh(process.execPath, argv)) as {
    networks: { role: string; bestValAcc: number; lastValAcc: number }[];
    history: { valAcc?: number; networks: Record<string, { valAcc?: number }> }[];
  };
  const s = j.networks.find((n) => n.role === 'student')!;
  const run: Run = {
    side: 'ours',
    method,
    seed,
    best: s.bestValAcc,
    last: s.lastValAcc,
    wall: (performance.now() - t) / 1000,
    accs: j.history.map((h) => h.networks.student?.valAcc ?? NaN),
  };
  const rc = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { bnRecalibrated?: { valAcc?: number } })
    .bnRecalibrated?.valAcc;
  if (rc !== undefined) run.recal = rc;
  return run;
}

function torch(student: string, method: string, seed: number): Run {
  const t = performance.now();
  const j = lastJson(
    sh('/usr/bin/python3', [
      py,
      'train',
      '--student',
      student,
      '--method',
      method,
      '--seed',
      String(seed),
      '--data',
      dataDir,
      '--epochs',
      String(epochs),
      '--teacher',
      teacherJson,
      '--threads',
      String(torchThreads),
      ...(recal ? ['--recal', String(recal)] : []),
    ]),
  ) as { best_acc: number; last_acc: number; recal_acc?: number; accs: number[] };
  return {
    side: 'pytorch',
    method,
    seed,
    best: j.best_acc,
    last: j.last_acc,
    ...(j.recal_acc !== undefined ? { recal: j.recal_acc } : {}),
    wall: (performance.now() - t) / 1000,
    accs: j.accs,
  };
}

for (const seed of seeds) {
  const student = join(out, `student-s${seed}.onnx`);
  if (!existsSync(student)) sh('/usr/bin/python3', [py, 'export', '--seed', String(seed), '--out', student]);
  for (const method of methods) {
    for (const side of [...(sides.includes('pytorch') ? [torch] : []), ...(sides.includes('ours') ? [ours] : [])]) {
      const r = side(student, method, seed);
      runs.push(r);
      load.push(loadavg()[0]!);
      process.stderr.write(
        `${r.side} ${method} seed ${seed}: best ${(100 * r.best).toFixed(2)} last ${(100 * r.last).toFixed(2)}${r.recal !== undefined ? ` recal ${(100 * r.recal).toFixed(2)}` : ''} (${r.wall.toFixed(0)} s)\n`,
      );
      writeFileAtomic(
        resultsOf(r.side),
        JSON.stringify(
          {
            date: new Date().toISOString(),
            data,
            epochs,
            seeds,
            threads,
            torchThreads,
            recal,
            runs: runs.filter((x) => x.side === r.side),
          },
          null,
          2,
        ),
      );
    }
  }
}

const stat = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return { mean: m, std: sd };
};
const fmt = (v: number[]) => {
  const s = stat(v);
  return `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}`;
};
const rows: string[] = [];
for (const method of methods) {
  const mean = (side: string, k: 'best' | 'last') =>
    stat(runs.filter((r) => r.side === side && r.method === method).map((r) => r[k])).mean;
  for (const side of ['pytorch', 'ours'] as const) {
    const rs = runs.filter((r) => r.side === side && r.method === method);
    const rc = rs.filter((r) => r.recal !== undefined).map((r) => r.recal!);
    const gap = side === 'ours' ? ` (${(100 * (mean('ours', 'last') - mean('pytorch', 'last'))).toFixed(2)})` : '';
    rows.push(
      `| ${method.toUpperCase()} | ${side === 'ours' ? 'onnx-distill' : 'PyTorch'} | ${rs.length} | ${fmt(rs.map((r) => r.best))} | ${fmt(rs.map((r) => r.last))}${gap} | ${rc.length ? fmt(rc) : '—'} | ${rs.map((r) => (100 * r.last).toFixed(2)).join(' / ')} | ${(rs.reduce((a, r) => a + r.wall, 0) / rs.length).toFixed(0)} |`,
    );
  }
}
const lines = [
  `Taken ${new Date().toISOString().slice(0, 10)} with \`npm run bench:parity -- --data ${data} --epochs ${epochs} --seeds ${seeds.join(',')} --methods ${methods.join(',')} --recal ${recal}${section === 'parity' ? '' : ` --section ${section}`}\` on ${cpus()[0]?.model.trim()}, ${cpus().length} cores shared with other jobs (1-minute load ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}; accuracy does not depend on it); ${threads} onnxruntime threads, ${torchThreads} PyTorch thread(s); Node ${process.version}, PyTorch 1.13 eager (Debian).`,
  `Data: ${data === 'fashion-mnist' ? 'the full Fashion-MNIST (Debian dataset-fashion-mnist: 60,000 training, 10,000 test images)' : `${data} (12,000 training, 2,000 test images)`}. Student: the zoo's cnn architecture (98,682 params) initialised by PyTorch under each seed and exported by it to ONNX (eval mode, BatchNorm kept); both sides start from that file's weights. Recipe, both sides: RandomCrop(28, padding=4) + horizontal flip, Normalize(0.2860, 0.3530), batch 128 (last batch dropped), SGD lr 0.05 momentum 0.9 weight decay 5e-4 on every parameter, cosine decayed per step to 0 (\`--lr-update step\`; CosineAnnealingLR with T_max = all steps), ${epochs} epochs. KD: 0.1·CE + 0.9·τ²·KL at τ 4 from the shipped teacher (\`models/fashion-mnist-teacher\`; PyTorch loads its weights into its twin, scripts/bench/torch_kd.py). Ours: \`onnx-distill distill --student <file> --method ce|kd\` with every setting given as a flag. Shuffling and augmentation draws differ between the sides (each its own generator under the seed).`,
  `Test accuracy (%), mean ± sample std over the seeds; best and last epoch; in brackets ours minus PyTorch (last). ${recal ? `"BN re-estimated": the last model after re-estimating BatchNorm running statistics on ${recal} augmented training batches (PyTorch: reset_running_stats + momentum=None; ours: \`--bn-recalibrate ${recal}\`).` : '"BN re-estimated": not run (`--recal 0`).'}`,
  '',
  '| method | side | seeds | best % | last % (ours − PyTorch) | BN re-estimated % | last per seed | wall s / run |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
];
const md = join(root, 'BENCHMARKS.md');
writeFileAtomic(
  md,
  replaceSection(
    existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n',
    section,
    [
      `## Parity with PyTorch: the same student file and recipe (\`npm run bench:parity\`${section === 'parity' ? '' : `, section ${section}`})`,
      '',
      ...lines,
    ].join('\n'),
  ),
);
console.log(lines.join('\n'));
