// Teacher-cache benchmark (issue: teacher cache): the cost of an offline KD epoch over a CE epoch, with the teacher in
// the step (no cache), a cold cache (teacher run in its own session, logits stored) and a warm one (logits replayed).
// Each run is a library `distill()` call on the same PNG folder; the first epoch is warm-up, the cost of a row is the
// median of its runs' other epochs' seconds per step. Writes bench-results/teacher-cache.json and its section of BENCHMARKS.md.
// Not a test: numbers, no assertions.
//   node --import tsx scripts/bench/teacher-cache.ts [--images 2000] [--epochs 4] [--batch 64] [--threads 2] [--student zoo:cnn] [--teacher models/fashion-mnist-teacher/model.onnx]
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { exportSplit } from '../export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { distill } from '../../src/pipeline/distill.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const images = Number(arg('images', '2000'));
const epochs = Number(arg('epochs', '4'));
const batch = Number(arg('batch', '64'));
const threads = Number(arg('threads', String(cpus().length)));
const student = arg('student', 'zoo:cnn');
// Rows run in interleaved rounds (CE, KD, cold, warm, CE, ...) so that drift in the machine's load hits all alike.
const rounds = Number(arg('rounds', '2'));
// Default teacher: the shipped one (zoo:cnn-wide, 390,890 parameters), the teacher a user's first KD runs use.
const teacherArg = arg('teacher', 'models/fashion-mnist-teacher/model.onnx');
const teacher = join(root, teacherArg);
const out = join(root, 'bench-results', 'teacher-cache');
rmSync(out, { recursive: true, force: true });
const data = join(out, 'images');
const idx = openIdx(join(root, 'models/fashion-mnist-subset'));
await exportSplit(idx.train as MemoryImages, idx.classes, join(data, 'train'), images);

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rows: { label: string; method: string; cache: string }[] = [
  { label: 'CE', method: 'ce', cache: 'off' },
  { label: 'KD, no cache (teacher in the step)', method: 'kd', cache: 'off' },
  { label: 'KD, cold cache', method: 'kd', cache: 'cold' },
  { label: 'KD, warm cache', method: 'kd', cache: 'warm' },
];
const load: number[] = [];
const steps = Math.floor(images / batch);
const timed = rows.map(() => ({ perStep: [] as number[], misses: [] as (number | null)[] }));
for (let round = 0; round < rounds; round++) {
  for (const [i, r] of rows.entries()) {
    const rec = await distill({
      data,
      teacher,
      student,
      method: r.method,
      epochs,
      batchSize: batch,
      threads,
      seed: 0,
      augment: 'cifar',
      out: join(out, `${r.method}-${r.cache}-${round}`),
      teacherCache: r.cache === 'off' ? 'off' : join(out, `cache-${round}`),
    });
    load.push(loadavg()[0]!);
    timed[i]!.perStep.push(...rec.history.slice(1).map((h) => (h.seconds / steps) * 1000));
    timed[i]!.misses = rec.history.map((h) => h.teacherCache?.misses ?? null);
    process.stderr.write(`  round ${round + 1}, ${r.label}: ${median(timed[i]!.perStep).toFixed(1)} ms/step so far\n`);
  }
}
const results = rows.map((r, i) => {
  const { perStep, misses } = timed[i]!;
  return {
    ...r,
    msPerStep: median(perStep),
    min: Math.min(...perStep),
    max: Math.max(...perStep),
    steps,
    epochsTimed: perStep.length,
    misses,
  };
});
const ce = results[0]!.msPerStep;
const ortVersion = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'), 'utf8')) as {
    version: string;
  }
).version;
const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  onnxruntime_node: ortVersion,
  threads,
  load_average: [Math.min(...load), Math.max(...load)],
};
writeFileAtomic(
  join(root, 'bench-results', 'teacher-cache.json'),
  JSON.stringify({ machine, images, epochs, batch, student, rounds, results }, null, 2),
);
const table = [
  '| run | ms / step (median, min–max) | × CE epoch | teacher ran on (batches per epoch) |',
  '|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.label} | ${r.msPerStep.toFixed(1)} (${r.min.toFixed(1)}–${r.max.toFixed(1)}) | ${(r.msPerStep / ce).toFixed(2)} | ${r.misses.every((m) => m === null) ? (r.method === 'kd' ? 'every batch, in the step' : '—') : r.misses.join(', ')} |`,
  ),
];
const body = [
  '## Teacher cache: KD epoch cost over a CE epoch',
  '',
  `Taken ${new Date().toISOString().slice(0, 10)} with \`node --import tsx scripts/bench/teacher-cache.ts --images ${images} --epochs ${epochs} --batch ${batch} --threads ${threads} --student ${student} --teacher ${teacherArg} --rounds ${rounds}\` on ${machine.cpu}, ${machine.cores} cores; ${threads} onnxruntime threads; Node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}; 1-minute load average ${machine.load_average.map((l) => l.toFixed(1)).join('–')}.`,
  `Teacher \`${teacherArg}\`, student \`${student}\`, ${images} Fashion-MNIST training images as PNG files (decoded into memory, pad-crop + flip), batch ${batch} (${Math.floor(images / batch)} steps per epoch). Each row is ${rounds} runs, interleaved with the other rows' in rounds; its cost is the median over their epochs 2–${epochs} (epoch 1 is warm-up; ${rounds * (epochs - 1)} epochs) of seconds per step, min–max across those epochs; the ratio is to the CE row of the same invocation. Cold fills a fresh cache each round, warm replays it.`,
  ...(machine.load_average[0]! > machine.cores
    ? [
        `The machine was overloaded while timing (load above its ${machine.cores} cores): the spread shows how far apart rows can be by contention alone; rerun on a quiet machine before reading the ratios.`,
      ]
    : []),
  '',
  ...table,
].join('\n');
const path = join(root, 'BENCHMARKS.md');
let text = '';
try {
  text = readFileSync(path, 'utf8');
} catch {
  /* first section */
}
writeFileAtomic(path, replaceSection(text, 'teacher-cache', body));
console.log(body);
