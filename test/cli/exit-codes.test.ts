import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CommandDef } from '../../src/cli/command.js';
import { UserError } from '../../src/util/errors.js';
import { badModels, cli, FIXTURES } from './helpers.js';

const resnet = join(FIXTURES, 'resnet18.onnx');
const bad = badModels();
const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// argv → exit code, and what stdout / stderr must say.
const cases: { argv: string[]; code: number; out?: RegExp; err?: RegExp }[] = [
  { argv: ['--help'], code: 0, out: /Commands:[\s\S]*inspect[\s\S]*README/ },
  { argv: ['inspect', '--help'], code: 0, out: /Examples:[\s\S]*--input-shape/ },
  { argv: ['--version'], code: 0, out: new RegExp(`^${version.replace(/\./g, '\\.')}\\n$`) },
  { argv: [], code: 2, err: /error: Name a command[\s\S]*hint: run 'onnx-distill --help'/ },
  { argv: ['nosuch'], code: 2, err: /Unknown argument: nosuch/ },
  { argv: ['inspect'], code: 2, err: /Not enough non-option arguments/ },
  { argv: ['inspect', resnet, '--bogus'], code: 2, err: /Unknown argument: bogus/ },
  { argv: ['inspect', join(FIXTURES, 'nope.onnx')], code: 2, err: /nope\.onnx: no such file/ },
  { argv: ['inspect', bad.truncated!], code: 2, err: /truncated\.onnx: not (a valid |an )ONNX/ },
  { argv: ['inspect', bad.png!], code: 2, err: /image\.png: not (a valid |an )ONNX/ },
  { argv: ['inspect', bad.random!], code: 2, err: /random\.onnx: not (a valid |an )ONNX/ },
  { argv: ['inspect', bad.domain!], code: 2, err: /op domain 'com\.example\.custom'/ },
  { argv: ['inspect', bad.missingExternal!], code: 2, err: /external data file 'weights\.bin'.*missing/ },
  { argv: ['inspect', bad.escape!], code: 2, err: /outside the model's folder/ },
  { argv: ['inspect', resnet, '--input-shape', '1x3xabc'], code: 2, err: /--input-shape: '1x3xabc' is not a shape/ },
  { argv: ['inspect', resnet, '--input-shape', '0x3x2x2'], code: 2, err: /--input-shape: '0x3x2x2'/ },
  { argv: ['inspect', resnet, '--input-shape', '1x3x224'], code: 2, err: /--input-shape: '1x3x224' has 3 dims/ },
  { argv: ['inspect', resnet, '--input-shape', '1x1x224x224'], code: 2, err: /--input-shape: .*fixes at 3/ },
  { argv: ['inspect', 'zoo:no-such-net'], code: 2, err: /unknown zoo model 'no-such-net'/ },
  { argv: ['inspect', 'hub:resnet'], code: 2, err: /unknown model spec 'hub:resnet'/ },
];

describe('argv → exit code and message', () => {
  for (const c of cases) {
    test(`onnx-distill ${c.argv.map((a) => a.replace(/^.*\//, '')).join(' ') || '(nothing)'} → ${c.code}`, async () => {
      const r = await cli(c.argv);
      assert.equal(r.code, c.code, `stderr: ${r.stderr}`);
      if (c.out) assert.match(r.stdout, c.out);
      if (c.err) assert.match(r.stderr, c.err);
      if (c.code === 2) {
        assert.match(r.stderr, /^onnx-distill: error: /);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'user errors print no stack');
        assert.equal(r.stdout, '');
      }
    });
  }
});

const fake = (run: CommandDef['run']): CommandDef => ({ command: 'boom', describe: 'throws', builder: (y) => y, run });

describe('the one error map', () => {
  test('a UserError prints its message and hint, exit 2', async () => {
    const r = await cli(
      ['boom'],
      [
        fake(async () => {
          throw new UserError('the file is wrong', 'try another file');
        }),
      ],
    );
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'onnx-distill: error: the file is wrong\nhint: try another file\n');
  });

  test('anything else is an internal error: stack, "this is a bug", exit 1', async () => {
    const r = await cli(
      ['boom'],
      [
        fake(async () => {
          throw new TypeError('x.y is undefined');
        }),
      ],
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /internal error: TypeError: x\.y is undefined\n\s+at /);
    assert.match(r.stderr, /this is a bug, please report it/i);
  });

  test('an abort (Ctrl-C passed up by a command) exits 130 without a bug report', async () => {
    const r = await cli(
      ['boom'],
      [
        fake(async () => {
          throw new DOMException('stopped', 'AbortError');
        }),
      ],
    );
    assert.equal(r.code, 130);
    assert.doesNotMatch(r.stderr, /bug/);
  });

  test('commands print through the context: --json reaches them, stdout and stderr stay apart', async () => {
    const r = await cli(
      ['boom', '--json'],
      [
        fake(async (_a, ctx) => {
          ctx.print(JSON.stringify({ json: ctx.json }));
          ctx.log('progress');
        }),
      ],
    );
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { json: true });
    assert.equal(r.stderr, 'progress\n');
  });
});

describe('bin/onnx-distill.js', () => {
  const bin = new URL('../../bin/onnx-distill.js', import.meta.url).pathname;
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ONNX_DISTILL_SOURCE: '1' },
    });

  test('--version prints the package version and exits 0', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  test('a user error sets exit code 2', () => {
    const r = run(['inspect', 'no-such-file.onnx']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^onnx-distill: error: no-such-file\.onnx: no such file/);
  });
});
