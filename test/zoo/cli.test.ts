import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { command as initModel } from '../../src/cli/commands/init-model.js';
import { command as models } from '../../src/cli/commands/models.js';
import { main } from '../../src/cli/main.js';
import { countParameters } from '../../src/analysis/params.js';
import { loadModel } from '../../src/ir/model.js';
import { TAPS_METADATA_KEY } from '../../src/zoo/index.js';

const dir = mkdtempSync(join(tmpdir(), 'zoo-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    argv,
    {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
    },
    [models, initModel],
  );
  return { code, out, err };
}

test('models lists the zoo with parameters and MACs, as a table and as JSON', async () => {
  const t = await cli(['models']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /resnet32x4\s+resnet\s+7,433,860/);
  const j = await cli(['models', '--input', '1x28x28', '--classes', '10', '--json']);
  const rows = (JSON.parse(j.out) as { models: { name: string; params: number; macs: number }[] }).models;
  const r8 = rows.find((r) => r.name === 'resnet8')!;
  assert.equal(r8.params, 78042 - 3 * 16 * 9 + 1 * 16 * 9); // RepDistiller's 3x32x32/10 count with a 1-channel stem
  assert.ok(r8.macs > 9e6 && r8.macs < 11e6, `${r8.macs}`);
  assert.equal((await cli(['models', '--input', '3x32'])).code, 2);
});

test('init-model writes a seeded zoo model and a slimmed teacher', async () => {
  const out = join(dir, 's.onnx');
  const r = await cli([
    'init-model',
    'zoo:resnet8',
    '--input',
    '1x28x28',
    '--classes',
    '10',
    '--seed',
    '0',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.err);
  const m = loadModel(out);
  assert.deepEqual(m.graph.inputs[0]!.type!.shape, ['N', 1, 28, 28]);
  assert.ok(m.metadata().get(TAPS_METADATA_KEY));
  const slim = join(dir, 'slim.onnx');
  const s = await cli(['init-model', 'slim:0.5', '--teacher', out, '--out', slim, '--json']);
  assert.equal(s.code, 0, s.err);
  assert.equal(JSON.parse(s.out).params, countParameters(loadModel(slim).graph).count);
  assert.ok(countParameters(loadModel(slim).graph).count < countParameters(m.graph).count / 3);
  const bad = await cli(['init-model', 'slim:0.5', '--out', slim]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--teacher/);
  assert.equal((await cli(['init-model', 'zoo:resnet9', '--out', slim])).code, 2);
});
