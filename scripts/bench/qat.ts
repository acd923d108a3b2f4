// `npm run bench:qat`: quantisation-aware distillation against post-training int8 on a depthwise student. Runs
// `compress --qat` for 3 seeds (the shipped teacher, the embedded Fashion-MNIST subset) and writes the fp32, PTQ int8
// and QAT int8 top-1 of each export (mean ± std over seeds) as the `compress-qat` section of BENCHMARKS.md. The QAT
// fine-tune trains the student for more epochs, so a control runs the same fine-tune without fake quantisation
// (`distill` from the fp32 student, same epochs, lr and seed): QAT int8 is compared with it as well as with fp32.
// A seed whose outputs exist in the folder is not run again (the script resumes); --load says what the load was
// while earlier invocations ran them (this one sees only its own).
//   node --import tsx scripts/bench/qat.ts [--student zoo:mobile-half] [--epochs 3] [--qat-epochs 1] [--seeds 0,1,2]
//                                          [--dir <folder of seed<k>/ outputs>]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { QuantizationSummary, ReportRow } from '../../src/report/index.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const student = arg('student', 'zoo:mobile-half');
const epochs = arg('epochs', '3');
const qatEpochs = arg('qat-epochs', '1');
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const dir = arg('dir', join(root, 'bench-results', 'compress-qat'));
const loadNote = arg('load', '');
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(', ');
const loadStart = loadavg();
const command = (seed: number) =>
  [
    'node bin/onnx-distill.js compress',
    `--student ${student} --epochs ${epochs} --qat --qat-epochs ${qatEpochs}`,
    `--formats fp32,int8 --verify-images 500 --latency-seconds 0.2 --seed ${seed}`,
    `--out ${join(dir, `seed${seed}`).replace(root, '')}`,
  ].join(' ');

// The control: the QAT run's fine-tune (same epochs, lr, no warm-up, seed) from the same fp32 student, in fp32.
const control = (seed: number, lr: number) =>
  [
    'node bin/onnx-distill.js distill',
    `--student ${join(dir, `seed${seed}`, 'student.onnx').replace(root, '')} --epochs ${qatEpochs} --lr ${lr} --warmup 0`,
    `--seed ${seed} --out ${join(dir, `seed${seed}`, 'control').replace(root, '')}`,
  ].join(' ');
const sh = (cmd: string, what: string) => {
  const p = spawnSync('sh', ['-c', cmd], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (p.status !== 0) throw new Error(`${what} failed (exit ${p.status})`);
};
for (const seed of seeds)
  if (!existsSync(join(dir, `seed${seed}`, 'report.json'))) sh(command(seed), `compress --qat (seed ${seed})`);
for (const seed of seeds) {
  const r = JSON.parse(readFileSync(join(dir, `seed${seed}`, 'report.json'), 'utf8')) as { qat: QuantizationSummary };
  if (!existsSync(join(dir, `seed${seed}`, 'control', 'run.json')))
    sh(control(seed, r.qat.lr), `control (seed ${seed})`);
}

interface Report {
  rows: ReportRow[];
  qat?: QuantizationSummary;
  seconds?: Record<string, number>;
  createdAt?: string;
}
const runs = seeds.map((seed) => {
  const r = JSON.parse(readFileSync(join(dir, `seed${seed}`, 'report.json'), 'utf8')) as Report;
  const acc = (model: string, format: string) => r.rows.find((x) => x.model === model && x.format === format)?.accuracy;
  return {
    seed,
    fp32: acc('student', 'fp32'),
    ptq: acc('student', 'int8'),
    qat: acc('student-qat', 'int8'),
    teacher: acc('teacher', 'fp32'),
    control: (
      JSON.parse(readFileSync(join(dir, `seed${seed}`, 'control', 'run.json'), 'utf8')) as { lastValAcc: number }
    ).lastValAcc,
    seconds: r.seconds,
    lr: r.qat?.lr ?? NaN,
    finished: r.createdAt ?? '',
    controlFinished: statSync(join(dir, `seed${seed}`, 'control', 'run.json')).mtime.toISOString(),
    qatImgPerSec: imagesPerSecond(join(dir, `seed${seed}`, 'qat', 'run.json')),
    controlImgPerSec: imagesPerSecond(join(dir, `seed${seed}`, 'control', 'run.json')),
  };
});
// Median training throughput over a run's epochs (run.json).
function imagesPerSecond(file: string): number {
  const h = (JSON.parse(readFileSync(file, 'utf8')) as { history: { imagesPerSecond: number }[] }).history;
  const v = h.map((e) => e.imagesPerSecond).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? NaN;
}
const pts = (v: number | undefined) => (v === undefined ? NaN : 100 * v);
function stat(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${m.toFixed(2)} ± ${sd.toFixed(2)}`;
}
const fix = (v: number) => v.toFixed(2);
const col = (f: (r: (typeof runs)[number]) => number) => runs.map(f);
const fp32 = col((r) => pts(r.fp32)),
  ptq = col((r) => pts(r.ptq)),
  qat = col((r) => pts(r.qat));
const tuned = col((r) => pts(r.control));
const ptqDrop = fp32.map((v, i) => v - ptq[i]!),
  qatDrop = fp32.map((v, i) => v - qat[i]!),
  qatVsTuned = tuned.map((v, i) => v - qat[i]!);
const generic = (c: string) => c.replace(/seed\d+/g, 'seed<k>').replace(/--seed \d+/, '--seed <k>');
const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');
const first = runs.map((r) => r.finished).sort()[0] ?? '';
const last = [...runs.map((r) => r.finished), ...runs.map((r) => r.controlFinished)].sort().at(-1) ?? '';
const how = [
  `Runs finished ${minute(first)}–${minute(last)} UTC, taken with \`npm run bench:qat\`: for each seed (${seeds.join(', ')}), \`${generic(command(seeds[0]!))}\`:`,
  'the shipped teacher (models/fashion-mnist-teacher), the embedded subset (12,000 training, 2,000 test images),',
  `${epochs} epochs of KD for the fp32 student, then ${qatEpochs} epoch(s) of quantisation-aware KD from its weights at`,
  'lr/10 (same terms). PTQ int8: the fp32 student calibrated (percentile, 512 training images), 7-bit per-channel',
  'weights, uint8 activations; QAT int8: the same writer at the final activation ranges of the QAT run (calibrated',
  "likewise, then tracked by a moving average of each batch's min/max, constant 0.01, as PyTorch's",
  'MovingAverageMinMaxObserver) and the scales of the final weights. Top-1 on the 2,000 test images of each written',
  'model file (last epoch; no best-epoch selection).',
  `Control (fp32 + fine-tune): \`${generic(control(seeds[0]!, runs[0]!.lr))}\`, the same fine-tune in fp32, its`,
  `last-epoch top-1 on the same 2,000 images: QAT trains ${qatEpochs} more epoch(s) than the fp32 student, so "QAT loss`,
  'vs control" is the fair measure of what int8 costs after QAT.',
].join(' ');
const machine = [
  `Machine: ${cpus()[0]?.model.trim()}, ${cpus().length} cores, shared with other engineers' jobs: load average`,
  loadNote || `${load(loadStart)} at the start, ${load(loadavg())} at the end`,
  `(1, 5, 15 min); Node ${process.version}, onnxruntime-node 1.30.0`,
  'on the CPU. compress --qat wall per seed (report.json seconds.total):',
  `${runs.map((r) => `${(r.seconds?.total ?? NaN).toFixed(0)} s`).join(', ')}.`,
].join(' ');
const cells = (xs: (string | number)[]) => `| ${xs.join(' | ')} |`;
const header = ['seed', 'teacher %', 'fp32 %', 'PTQ int8 %', 'QAT int8 %', 'control: fp32 + fine-tune %'];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const reading = [
  `Reading: PTQ int8 loses ${stat(ptqDrop)} points against fp32 and QAT int8 ${stat(qatDrop)}`,
  `(${stat(qatVsTuned)} against the control that fine-tunes as long in fp32).`,
  mean(ptqDrop) <= 0.3
    ? "PTQ already keeps the fp32 accuracy of this student, so the issue's case (PTQ losing more than 0.3 point, which QAT" +
      ' should bring back to within 0.3) does not arise here: the table shows QAT int8 level with fp32 and the control' +
      " within the seeds' spread, not QAT recovering a PTQ loss."
    : `QAT ${Math.abs(mean(qatDrop)) <= 0.3 ? 'meets' : 'misses'} the issue's target (within 0.3 point of fp32 where PTQ loses more).`,
  `Training throughput of the QAT epoch (median img/s, per seed): ${runs.map((r) => r.qatImgPerSec.toFixed(0)).join(', ')};`,
  `of the control's fp32 epoch: ${runs.map((r) => r.controlImgPerSec.toFixed(0)).join(', ')}; the two ran at different times`,
  'on the shared cores, so their ratio is an indication of the fake-quant cost, not a measurement of it.',
].join(' ');
const lines = [
  how,
  machine,
  '',
  cells([...header, 'PTQ loss vs fp32 (pt)', 'QAT loss vs fp32 (pt)', 'QAT loss vs control (pt)']),
  cells(Array.from({ length: header.length + 3 }, () => '---')),
  ...runs.map((r, i) =>
    cells([
      r.seed,
      ...[pts(r.teacher), fp32[i]!, ptq[i]!, qat[i]!, tuned[i]!, ptqDrop[i]!, qatDrop[i]!, qatVsTuned[i]!].map(fix),
    ]),
  ),
  cells(['mean ± std', '', ...[fp32, ptq, qat, tuned, ptqDrop, qatDrop, qatVsTuned].map(stat)]),
  '',
  reading,
];
const md = join(root, 'BENCHMARKS.md');
writeFileAtomic(
  md,
  replaceSection(
    existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n',
    'compress-qat',
    [`## Quantisation-aware distillation: fp32, PTQ int8 and QAT int8 (\`npm run bench:qat\`)`, '', ...lines].join(
      '\n',
    ),
  ),
);
console.log(lines.join('\n'));
