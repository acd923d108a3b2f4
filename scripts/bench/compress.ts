// `npm run bench:compress`: the README's main job (`compress` with no arguments: the shipped teacher, the embedded
// data, the default student and exports) timed end to end; its report becomes the `compress` section of BENCHMARKS.md.
//   node --import tsx scripts/bench/compress.ts [--from <an existing compress --out folder>]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { ReportRow } from '../../src/report/index.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { replaceSection } from './sections.js';

const root = new URL('../..', import.meta.url).pathname;
const i = process.argv.indexOf('--from');
let dir = i > 0 ? process.argv[i + 1]! : join(root, 'bench-results', 'compress');
let wall: number | undefined;
if (i < 0) {
  const t = performance.now();
  const p = spawnSync(process.execPath, ['bin/onnx-distill.js', 'compress', '--out', dir], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (p.status !== 0) throw new Error(`compress failed (exit ${p.status})`);
  wall = (performance.now() - t) / 1000;
}
const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
  rows: ReportRow[];
  seconds?: { total: number };
  evaluation?: { latency?: { threads?: number; plannedRuns?: number; budgetSeconds?: number } };
  epochs?: number;
  student?: string;
};
const fp32 = r.rows.find((x) => x.role === 'student' && x.format === 'fp32');
const pct = (v: number) => `${(100 * v).toFixed(2)}`;
const rows = r.rows.map(
  (x) =>
    `| ${x.model} | ${x.format} | ${pct(x.accuracy)} | ${(x.sizeBytes / 1024).toFixed(1)} | ${fp32 && x.role === 'student' ? (x.sizeBytes / fp32.sizeBytes).toFixed(2) : '—'} | ${x.params.toLocaleString('en-US')} | ${x.latencyMsBatch1.toFixed(3)} | ${x.latencyMsBatch32.toFixed(2)} | ${fp32 && x.role === 'student' ? (x.latencyMsBatch32 / fp32.latencyMsBatch32).toFixed(2) : '—'} |`,
);
const lines = [
  `Taken ${new Date().toISOString().slice(0, 10)} with \`${i > 0 ? `node bin/onnx-distill.js compress` : 'npm run bench:compress'}\` (no arguments: the shipped teacher, the embedded 12k/2k Fashion-MNIST subset, ${r.epochs ?? '?'} epochs of KD) on ${cpus()[0]?.model.trim()}, ${cpus().length} cores; Node ${process.version}; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(', ')} at the end (the whole-run time is only comparable on an idle machine).`,
  `Whole run: ${(wall ?? r.seconds?.total ?? NaN).toFixed(0)} s. Accuracy on the 2,000 test images; latency is onnxruntime-node's median of up to ${r.evaluation?.latency?.plannedRuns ?? '?'} timed runs or ${r.evaluation?.latency?.budgetSeconds ?? '?'} s at ${r.evaluation?.latency?.threads ?? 1} thread(s), batch 1 and a whole batch of 32, as \`eval\` measures it. Ratios are against the student's fp32 export in the same run.`,
  '',
  '| model | format | top-1 % | size KiB | size / fp32 | params | ms @1 | ms @32 | @32 / fp32 |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
];
const md = join(root, 'BENCHMARKS.md');
writeFileAtomic(
  md,
  replaceSection(
    existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n',
    'compress',
    ['## The main job: `compress` on the shipped teacher (`npm run bench:compress`)', '', ...lines].join('\n'),
  ),
);
console.log(lines.join('\n'));
