// The layer check (scripts/check-layers.mjs, table in .dependency-cruiser.cjs) passes on src/ as it is and fails,
// naming file, line, import and rule, on a copy with one import against the order or one cycle between files.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const script = join(root, 'scripts/check-layers.mjs');
let copy: string;

before(() => {
  copy = mkdtempSync(join(tmpdir(), 'check-layers-'));
  for (const p of ['src', '.dependency-cruiser.cjs', 'tsconfig.json'])
    cpSync(join(root, p), join(copy, p), { recursive: true });
});
after(() => rmSync(copy, { recursive: true, force: true }));

function check(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

// Prepend `line` to `file` of the copy; give back a function that restores it.
function prepend(file: string, line: string): () => void {
  const path = join(copy, file);
  const before = readFileSync(path, 'utf8');
  writeFileSync(path, `${line}\n${before}`);
  return () => writeFileSync(path, before);
}

test('src/ as committed passes the layer check', () => {
  const r = check(root);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no import against the layer order, no cycle/);
});

test('a type-only import from a leaf up to the CLI fails with file, line, import and rule', () => {
  const restore = prepend('src/ir/tensor.ts', "import type { CommandDef } from '../cli/command.js';");
  try {
    const r = check(copy);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /src\/ir\/tensor\.ts:1: import '\.\.\/cli\/command\.js' breaks layer:ir\n/);
    assert.match(r.out, /1 import\(s\) against the layer order/);
  } finally {
    restore();
  }
});

test('an import between two folders of one row (no folder cycle can pass) fails', () => {
  const restore = prepend('src/eval/metrics.ts', "import '../export/defaults.js';");
  try {
    const r = check(copy);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /src\/eval\/metrics\.ts:1: import '\.\.\/export\/defaults\.js' breaks layer:export\/eval/);
  } finally {
    restore();
  }
});

test('a cycle between two files of one folder fails as no-circular', () => {
  const restore = prepend('src/util/errors.ts', "import './fs.js';");
  const restore2 = prepend('src/util/fs.ts', "import './errors.js';");
  try {
    const r = check(copy);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /src\/util\/(errors|fs)\.ts:1: import '\.\/(fs|errors)\.js' breaks no-circular/);
    assert.match(
      r.out,
      /cycle: src\/util\/(errors|fs)\.ts -> src\/util\/(fs|errors)\.ts -> src\/util\/(errors|fs)\.ts/,
    );
  } finally {
    restore2();
    restore();
  }
});

test('a new top-level folder of src/ without a row in the table fails', () => {
  mkdirSync(join(copy, 'src/extra'));
  writeFileSync(
    join(copy, 'src/extra/y.ts'),
    "import { UserError } from '../util/errors.js';\nexport const y = UserError;\n",
  );
  try {
    const r = check(copy);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /src\/extra\/y\.ts:1: import '\.\.\/util\/errors\.js' breaks no-unknown-folder/);
  } finally {
    rmSync(join(copy, 'src/extra'), { recursive: true, force: true });
  }
});
