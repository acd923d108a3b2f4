// IFM as a staged run: the widened proxy learns CE (stage 1), then the teacher's embedding (stage 2), then the student
// learns from the proxy's flow (stage 3); the intermediate weights decay 100·0.7^epoch; a student that cannot be
// widened is a UserError that says to pass --proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel, serializeModel, type Model } from '../../src/ir/model.js';
import { METHODS } from '../../src/methods/index.js';
import { methodStages } from '../../src/pipeline/staged.js';
import { runStages } from '../../src/train/stages.js';
import { UserError } from '../../src/util/errors.js';
import { zooBuildOf } from '../../src/zoo/index.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

function stagedRun(teacher: Model, student: Model, epochs = 3) {
  const base = methodRun('kd', teacher, [student], { epochs });
  const { networks, terms: _t, exports, schedule, outDir, resume: _r, ...shared } = base;
  const stages = methodStages(
    METHODS.get('ifm')!,
    { teacher, students: networks.filter((n) => n.role === 'student'), base: [], seed: 5 },
    {
      ...shared,
      exports: { ...exports },
      schedule: (s) => ({ ...schedule, lr: s.lr ?? schedule.lr, epochs: s.epochs ?? schedule.epochs }),
    },
  );
  return { stages, outDir, teacherBytes: serializeModel(teacher).onnx };
}

test("ifm learns in three stages: proxy CE, proxy matches the teacher, student matches the proxy's flow", async (t) => {
  const teacher = await trainedTeacher();
  const { stages, outDir, teacherBytes } = stagedRun(teacher, zoo('cnn-tiny', 20));
  const rec = await runStages(stages, { outDir, teacherBytes });
  assert.deepEqual(
    rec.stages.map((s) => s.name),
    ['proxy-ce', 'proxy-match', 'student'],
  );
  const proxy = rec.stages[0]!.record.networks.find((n) => n.name === 'proxy')!;
  assert.equal(proxy.role, 'auxiliary');
  assert.ok((proxy.lastValAcc ?? 0) > 0.7, `proxy after CE: ${proxy.lastValAcc}`);
  const match = rec.stages[1]!.record;
  assert.ok(
    match.history[2]!.loss < match.history[0]!.loss,
    `proxy-match loss ${match.history.map((h) => h.loss).join(', ')}`,
  );
  const student = rec.networks.find((n) => n.name === 'student')!;
  assert.ok((student.lastValAcc ?? 0) > 0.7, `student ${student.lastValAcc}`);
  t.diagnostic(
    `proxy ${proxy.lastValAcc}, proxy-match loss ${match.history.map((h) => h.loss.toPrecision(3)).join(' → ')}, student ${student.lastValAcc}`,
  );
  assert.match(
    rec.loss,
    /^1·ce\(student\.logits\) \+ 100·ifm\(student\.f1 ← proxy\.f1\) \[×0\.7\^epoch\] \+ 100·ifm\(student\.f2 ← proxy\.f2\) \[×0\.7\^epoch\] \+ 100·ifm\(student\.f3 ← proxy\.f3\) \[×0\.7\^epoch\] \+ 1·ifm\(student\.embedding ← proxy\.embedding\)$/,
  );
  assert.ok(rec.outputs.student && !rec.outputs.proxy, 'only the student is exported');
  // Stage 2 trains the proxy up to its embedding: the classifier no term reads is handed on as stage 1 left it.
  const fc = (file: string) => loadModel(file).graph.initializers.find((v) => v.name === 'fc.weight')!.constant!.data;
  const [after1, after2] = [rec.stages[0]!, rec.stages[1]!].map((s) => s.record.outputs.proxy!);
  assert.deepEqual(fc(after2), fc(after1));
  assert.notDeepEqual(
    loadModel(after2).graph.initializers.find((v) => v.name === 'conv0.weight')!.constant!.data,
    loadModel(after1).graph.initializers.find((v) => v.name === 'conv0.weight')!.constant!.data,
  );
});

test('ifm stages: the proxy is the zoo student at twice the width, Adam 1e-3 without weight decay in every stage', () => {
  const teacher = zoo('cnn-tiny', 7);
  const plans = METHODS.get('ifm')!.stages!({
    teacher,
    students: [{ name: 'student', model: zoo('cnn', 1), role: 'student', trainable: true }],
    base: [],
    seed: 0,
  });
  assert.deepEqual(
    plans.map((p) => p.optimizer),
    [0, 1, 2].map(() => ({ name: 'adam', lr: 1e-3, weightDecay: 0 })),
  );
  const proxy = plans[0]!.networks({})[0]!;
  assert.equal(zooBuildOf(proxy.model)!.name, 'cnn-wide');
});

test('a student that cannot be widened is a UserError naming it and saying to pass --proxy', () => {
  const teacher = zoo('cnn-tiny', 7);
  const ifm = METHODS.get('ifm')!;
  const student = (model: Model) => ({
    teacher,
    students: [{ name: 'student', model, role: 'student' as const, trainable: true }],
    base: [],
    seed: 0,
  });
  assert.throws(
    () => ifm.stages!(student(zoo('mobile-half', 1))),
    (e: unknown) =>
      e instanceof UserError &&
      /the student 'student' zoo:mobile-half has no widened form/.test(e.message) &&
      /pass --proxy/.test(e.message),
  );
  const file = zoo('cnn', 1);
  file.proto.metadataProps = file.proto.metadataProps.filter((e) => e.key !== 'onnx_distill.zoo');
  assert.throws(
    () => ifm.stages!(student(file)),
    (e: unknown) =>
      e instanceof UserError && /'student' is not a zoo model/.test(e.message) && /pass --proxy/.test(e.message),
  );
  // With --proxy any student works.
  const plans = ifm.stages!({ ...student(zoo('mobile-half', 1)), proxy: { model: zoo('cnn', 2), key: 'zoo:cnn' } });
  assert.equal(plans.length, 3);
});
