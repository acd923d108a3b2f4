// Every gradient rule found from its registry (src/autodiff/rules/, GRAD_RULES) has a finite-difference check: the
// checks of test/autodiff/ are run dry (graphs built and differentiated, not run: GRADCHECK_DRY) while gradcheck
// records the rules each one exercises (GRADCHECK_RECORD); a rule that no check reaches fails here, by name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GRAD_RULES } from '../../src/autodiff/registry.js';

// The gradient checks: rules-*.test.ts (core.test.ts checks the harness itself and cannot run dry).
const here = new URL('.', import.meta.url).pathname;

test('every registered gradient rule is exercised by a finite-difference check', () => {
  const files = readdirSync(here)
    .filter((f) => /^rules-.*\.test\.ts$/.test(f) && f !== 'rules-registry.test.ts')
    .map((f) => join(here, f));
  assert.ok(files.length >= 4, `gradient check files in ${here}: ${files.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'rules-registry-'));
  const record = join(dir, 'checked.txt');
  // Without NODE_TEST_CONTEXT the child runs its files itself instead of reporting to this runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      encoding: 'utf8',
      env: { ...env, GRADCHECK_DRY: '1', GRADCHECK_RECORD: record },
    });
    assert.equal(
      r.status,
      0,
      `the gradient checks failed when run dry:\n${r.stdout.slice(-4000)}${r.stderr.slice(-2000)}`,
    );
    const checked = new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean));
    const missing = [...GRAD_RULES.keys()].filter((k) => !checked.has(k)).sort();
    assert.deepEqual(
      missing,
      [],
      `gradient rules without a finite-difference check (add a case to test/autodiff/rules-*.test.ts): ${missing.join(', ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
