// A seeded sample of the fuzz run (scripts/fuzz.ts runs any number): every mutant of the fixtures goes through
// `inspect` (the CLI's main(), captured IO) and the step compiler; `export` (one format per mutant, in turn fp32, fp16,
// int8, on a tiny image set) runs on the mutants inspect accepted and on every 10th mutant (scripts/fuzz.ts runs it
// on all). Each run is in a worker with a time limit, and must end as a correct result or a user error that names
// the file, node or tensor; never an internal error, a crash or a hang.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAILURES, runFuzz } from './harness.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20240);

test(
  `${COUNT} seeded mutants (seed ${SEED}): no crash, hang, internal error or wrong result`,
  { timeout: 300_000 },
  async () => {
    const report = await runFuzz({
      count: COUNT,
      seed: SEED,
      timeoutMs: 20_000,
      gate: { targets: ['export'], every: 10 },
    });
    const lines = report.failures.map(
      (f) =>
        `#${f.mutant.id} ${f.mutant.fixture} ${f.mutant.kind} (${f.mutant.detail}) via ${f.target}: ${f.verdict}: ${f.message}`,
    );
    assert.equal(
      report.failures.length,
      0,
      `reproduce with: node --import tsx scripts/fuzz.ts --seed ${SEED} --first <id> --count 1 --verbose\n${lines.join('\n')}`,
    );
    assert.equal(
      FAILURES.reduce((s, v) => s + report.counts[v], 0),
      0,
    );
    // The sample exercises both outcomes: refusals and correct reports of mutants that are still valid models.
    assert.ok(report.counts.refused > COUNT / 2, JSON.stringify(report.counts));
    assert.ok(report.counts.ok > 10, JSON.stringify(report.counts));
    assert.ok(Object.keys(report.byKind).length >= 15, `mutant kinds: ${Object.keys(report.byKind).join(', ')}`);
    // Every export format wrote and verified some mutants, and refused others.
    for (const format of ['fp32', 'fp16', 'int8']) {
      const t = report.byTarget[`export ${format}`] ?? {};
      assert.ok((t.ok ?? 0) >= 1 && (t.refused ?? 0) >= 1, `export ${format}: ${JSON.stringify(t)}`);
    }
  },
);
