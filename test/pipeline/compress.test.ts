// Student selection for `compress`: the chosen student respects the parameter budget, is the largest candidate
// under it unless a preferred family is nearly as large, and nothing under the budget is a clear error.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { countParameters } from '../../src/analysis/params.js';
import { loadModel } from '../../src/ir/model.js';
import { chooseStudent } from '../../src/pipeline/chooseStudent.js';
import { parseFormats } from '../../src/pipeline/compress.js';
import { UserError } from '../../src/util/errors.js';
import { buildZooModel } from '../../src/zoo/index.js';
import { deriveStudent } from '../../src/models/student.js';
import { FIXTURES } from '../cli/helpers.js';

const io = { input: [1, 28, 28] as [number, number, number], classes: 10 };
const shippedLike = buildZooModel('cnn-wide', { ...io, seed: 0 });

test("a quarter of the shipped teacher's architecture: under the budget, as large as the candidates allow", () => {
  const c = chooseStudent(shippedLike, io, 0.25);
  assert.equal(c.teacherParams, countParameters(shippedLike.graph).count);
  assert.equal(c.budget, Math.floor(0.25 * c.teacherParams));
  assert.ok(c.params <= c.budget, `${c.spec}: ${c.params} > ${c.budget}`);
  const fit = c.candidates.filter((x) => x.params <= c.budget);
  const largest = Math.max(...fit.map((x) => x.params));
  assert.ok(
    c.params >= 0.85 * largest,
    `${c.spec} (${c.params}) is far below the largest fitting candidate (${largest})`,
  );
  // zoo:cnn (98,682) is just over a quarter of cnn-wide (390,890), so it must not be chosen; a slim: copy near it is.
  assert.ok(c.candidates.some((x) => x.spec === 'zoo:cnn' && x.params > c.budget));
  assert.match(c.spec, /^slim:0\.4\d$/);
  // The chosen spec builds the student it claims.
  assert.equal(countParameters(deriveStudent(shippedLike, c.spec).graph).count, c.params);
  assert.match(c.reason, /budget 97,722 parameters \(--size 0\.25 of the teacher's 390,890\)/);
});

test('every budget is respected, and a larger budget never gives a smaller student', () => {
  let previous = 0;
  for (const size of [0.1, 0.3, 0.6, 1]) {
    const c = chooseStudent(shippedLike, io, size);
    assert.ok(c.params <= c.budget, `--size ${size}: ${c.spec} has ${c.params} > ${c.budget}`);
    assert.ok(
      c.params >= previous,
      `--size ${size}: ${c.spec} (${c.params}) is smaller than the choice at a smaller size (${previous})`,
    );
    previous = c.params;
  }
});

test('a file teacher smaller than the whole zoo gets a slimmed copy of itself', () => {
  const teacher = loadModel(join(FIXTURES, 'small_resnet_eval.onnx'));
  const c = chooseStudent(teacher, io, 0.5);
  assert.match(c.spec, /^slim:/);
  assert.ok(c.params <= c.budget && c.budget === Math.floor(0.5 * 5122));
});

test('nothing under the budget, or a budget out of range: a UserError that says what to do', () => {
  const teacher = loadModel(join(FIXTURES, 'small_resnet_eval.onnx'));
  assert.throws(
    () => chooseStudent(teacher, io, 0.001),
    (e: unknown) =>
      e instanceof UserError &&
      /--size 0\.001: no student fits 5 parameters \(0\.001 × the teacher's 5,122\); the smallest candidate is slim:\S+ with [\d,]+/.test(
        e.message,
      ) &&
      /raise --size to at least 0\.\d+, or name a student with --student/.test(e.hint ?? ''),
  );
  for (const size of [0, -0.5, 1.5, Number.NaN]) {
    assert.throws(
      () => chooseStudent(teacher, io, size),
      (e: unknown) =>
        e instanceof UserError &&
        /--size: .* must be a fraction of the teacher's parameters in \(0, 1\]/.test(e.message),
      String(size),
    );
  }
});

test('--formats: known formats in a fixed order, each once; anything else is a UserError', () => {
  assert.deepEqual(parseFormats('int8, fp32,int8'), ['fp32', 'int8']);
  assert.deepEqual(parseFormats('FP16'), ['fp16']);
  assert.throws(() => parseFormats('fp32,int4'), /--formats: unknown format 'int4'; choose from fp32, fp16, int8/);
  assert.throws(() => parseFormats(' , '), /--formats: ' , ' names no format/);
});
