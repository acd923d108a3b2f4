// Hostile config and pipeline files (issue 22): an alias bomb, a file over the size limit and a huge mapping each
// end as a prompt user error (exit 2) naming the file; the duplicate-key check is linear in the keys.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelineFile } from '../../src/jobs/spec.js';
import { loadConfigFile, YAML_LIMITS } from '../../src/config/file.js';
import { COMMON_OPTIONS, DISTILL_OPTIONS } from '../../src/config/options.js';
import { UserError } from '../../src/util/errors.js';
import { cli } from '../cli/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-hostile-'));
after(() => rmSync(root, { recursive: true, force: true }));
const OPTIONS = [...COMMON_OPTIONS, ...DISTILL_OPTIONS];
const write = (name: string, text: string) => {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
};
const BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
  '',
].join('\n');
const refused = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof UserError && message.test(e.message));

test('an alias bomb in a run config or a pipeline file is a user error naming the file, not a crash', async () => {
  const cfg = write('bomb.yaml', BOMB);
  refused(() => loadConfigFile(cfg, OPTIONS), /bomb\.yaml: its aliases expand too far/);
  const r = await cli(['distill', '--config', cfg]);
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /ReferenceError|\n\s+at /);
  const pipe = write('bomb-pipeline.yaml', `${BOMB}jobs: [{ epochs: 1 }]\n`);
  await assert.rejects(
    loadPipelineFile(pipe),
    (e: unknown) => e instanceof UserError && /bomb-pipeline\.yaml: its aliases expand too far/.test(e.message),
  );
});

test(`a file over ${YAML_LIMITS.bytes} bytes is refused before it is parsed`, async () => {
  const big = write('big.yaml', `epochs: 1\n# ${'x'.repeat(YAML_LIMITS.bytes)}\n`);
  const t = performance.now();
  refused(
    () => loadConfigFile(big, OPTIONS),
    /big\.yaml: 1000013 bytes; a config or pipeline file may have at most 1000000 bytes \(1 MB\)/,
  );
  assert.ok(performance.now() - t < 1000);
  const r = await cli(['pipeline', 'run', big, '--out', join(root, 'o')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /big\.yaml: .* at most 1000000 bytes/);
});

test('duplicate keys are found in time linear in the keys, with the line of the second one', () => {
  // 40,000 keys took 9-25 s with yaml's own pairwise uniqueKeys check.
  const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}: ${i}`);
  const dup = write('dup.yaml', [...keys, 'k17: again'].join('\n'));
  const t = performance.now();
  refused(() => loadConfigFile(dup, OPTIONS), /dup\.yaml:40001: the key 'k17' appears twice in one mapping/);
  const seconds = (performance.now() - t) / 1000;
  assert.ok(seconds < 6, `${seconds.toFixed(1)} s`);
  refused(
    () => loadConfigFile(write('dup-nested.yaml', 'stages:\n  heads:\n    lr: 1\n    lr: 2\n'), OPTIONS),
    /dup-nested\.yaml:4: the key 'lr' appears twice/,
  );
  // Distinct keys: the schema names the first unknown one, also quickly.
  const many = write('many.yaml', keys.join('\n'));
  refused(() => loadConfigFile(many, OPTIONS), /many\.yaml:1: unknown key 'k0'/);
});
