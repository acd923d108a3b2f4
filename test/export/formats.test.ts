// The export formats are a folder registry (src/export/formats/): every file found there is a format the commands
// take, with its verification criteria and report marker; nothing else lists them.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { CRITERIA, FORMATS } from '../../src/export/index.js';
import { EXPORT_FORMATS, formatNamed } from '../../src/export/formats/index.js';
import { FORMAT_SHAPES } from '../../src/report/specs/theme.js';
import { validateRows } from '../../src/report/validate.js';
import { UserError } from '../../src/util/errors.js';

const files = readdirSync(new URL('../../src/export/formats/', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'types.ts')
  .map((f) => f.replace(/\.ts$/, ''));

test('every file of src/export/formats/ is a format, fp32 (the reference) first', () => {
  assert.deepEqual([...FORMATS].sort(), files.sort());
  assert.equal(FORMATS[0], 'fp32');
  assert.deepEqual([...FORMATS], ['fp32', 'fp16', 'int8']);
});

test('each format brings its verification criteria and report marker, read by export and report', () => {
  for (const [name, f] of EXPORT_FORMATS) {
    assert.ok(f.criteria.tolerance !== undefined || f.criteria.minAgreement !== undefined, `${name}: criteria`);
    assert.deepEqual(CRITERIA[name], f.criteria);
    assert.equal(FORMAT_SHAPES[name], f.marker);
  }
  assert.equal(new Set(Object.values(FORMAT_SHAPES)).size, FORMATS.length, 'markers tell formats apart');
});

test('an unknown format is a UserError naming the option and the known formats; report rows are checked against the registry', () => {
  assert.throws(
    () => formatNamed('int4', '--formats'),
    (e: unknown) =>
      e instanceof UserError && /--formats: unknown format 'int4'; choose one of fp32, fp16, int8/.test(e.message),
  );
  const row = {
    model: 'm',
    role: 'student',
    format: 'int4',
    file: 'm.onnx',
    accuracy: 0.5,
    sizeBytes: 1,
    params: 1,
    macs: 1,
    latencyMsBatch1: 1,
    latencyMsBatch32: 1,
  };
  assert.throws(() => validateRows([row] as never), /format must be one of fp32, fp16, int8, got "int4"/);
});
