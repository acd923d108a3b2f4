// Fuzz the model loaders: seeded mutants of the test fixtures through `inspect`, the step compiler and `export`.
// Usage: node --import tsx scripts/fuzz.ts [--count 1000] [--seed 1] [--first 0] [--timeout-ms 20000] [--verbose]
// Prints a summary (and every failure); exits 1 when any mutant crashed, hung or ended as an internal error.
import { FAILURES, runFuzz } from '../test/fuzz/harness.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} must be a whole number`);
    process.exit(2);
  }
  return v;
}

const count = flag('count', 1000),
  seed = flag('seed', 1),
  first = flag('first', 0),
  timeoutMs = flag('timeout-ms', 20_000);
const verbose = process.argv.includes('--verbose');
let done = 0;
const report = await runFuzz({
  count,
  seed,
  first,
  timeoutMs,
  onOutcome: (o) => {
    if (verbose)
      console.error(
        `#${o.mutant.id} ${o.mutant.fixture} ${o.mutant.kind} (${o.mutant.detail}) ${o.target}: ${o.verdict} ${o.ms} ms ${o.message.split('\n')[0]}`,
      );
    else if (++done % 100 === 0) console.error(`${done} runs...`);
  },
});
for (const f of report.failures) {
  console.log(
    `FAIL #${f.mutant.id} ${f.mutant.fixture} ${f.mutant.kind} (${f.mutant.detail}) via ${f.target}: ${f.verdict}\n  ${f.message.replace(/\n/g, '\n  ')}`,
  );
}
for (const o of report.ortRefused) {
  if (verbose)
    console.log(
      `note #${o.mutant.id} ${o.mutant.kind} (${o.mutant.detail}): inspect reports onnxruntime cannot load it: ${o.ortRefused}`,
    );
}
for (const o of report.ortLoads) {
  if (verbose)
    console.log(
      `note #${o.mutant.id} ${o.mutant.kind} (${o.mutant.detail}): refused, though onnxruntime loads it: ${o.message}`,
    );
}
const failed = FAILURES.reduce((s, v) => s + report.counts[v], 0);
console.log(
  JSON.stringify(
    {
      seed,
      first,
      mutants: report.mutants,
      runs: report.runs,
      counts: report.counts,
      byTarget: report.byTarget,
      acceptedButOnnxruntimeRefuses: report.ortRefused.length,
      refusedButOnnxruntimeLoads: report.ortLoads.length,
      mutantKinds: report.byKind,
      ...(Object.keys(report.skipped).length ? { skipped: report.skipped } : {}),
      seconds: Math.round(report.seconds),
    },
    null,
    2,
  ),
);
console.log(
  failed === 0
    ? `${report.mutants} mutants, ${report.runs} runs: 0 crashes, 0 hangs, 0 internal errors, 0 wrong results`
    : `${failed} failing runs`,
);
process.exit(failed === 0 ? 0 : 1);
