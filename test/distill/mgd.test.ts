// MGD as a staged run: stage 1 trains the teacher's granularity heads (their accuracies are reported), stage 2 the
// student; a run interrupted in stage 2 resumes there and ends where an uninterrupted one does; a finished stage 1 is
// reused by a later run with the same teacher and stage config.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { serializeModel, type Model } from '../../src/ir/model.js';
import { METHODS } from '../../src/methods/index.js';
import { methodStages } from '../../src/pipeline/staged.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import type { RunOptions } from '../../src/train/loop.js';
import { runStages } from '../../src/train/stages.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, tmp, trainedTeacher, zoo } from './helpers.js';

function stagedRun(teacher: Model, variant: 'mag' | 'mas', over: Partial<RunOptions> = {}) {
  const base = methodRun('kd', teacher, [zoo('cnn-tiny', 20)], { epochs: 2, ...over });
  const { networks, terms: _t, exports, schedule, outDir, resume: _r, ...shared } = base;
  const stages = methodStages(
    METHODS.get('mgd')!,
    {
      teacher,
      students: networks.filter((n) => n.role === 'student'),
      base: [METHODS.get('kd')!],
      seed: 5,
      mgdVariant: variant,
    },
    {
      ...shared,
      exports: { ...exports },
      schedule: (s) => ({ ...schedule, lr: s.lr ?? schedule.lr, epochs: s.epochs ?? schedule.epochs }),
    },
  );
  return { stages, outDir, teacherBytes: serializeModel(teacher).onnx };
}

for (const variant of ['mag', 'mas'] as const) {
  test(`mgd+kd (${variant}) learns in two stages; the heads' accuracies are reported after stage 1`, async () => {
    const teacher = await trainedTeacher();
    const { stages, outDir, teacherBytes } = stagedRun(teacher, variant);
    const rec = await runStages(stages, { outDir, teacherBytes });
    assert.deepEqual(
      rec.stages.map((s) => s.name),
      ['heads', 'student'],
    );
    const heads = rec.stages[0]!.record.networks.filter((n) => n.role === 'auxiliary');
    assert.deepEqual(
      heads.map((n) => n.name),
      ['head64', 'head256'],
    );
    for (const h of heads) assert.ok((h.lastValAcc ?? 0) > 0.7, `${h.name}: ${h.lastValAcc}`);
    const student = rec.networks.find((n) => n.name === 'student')!;
    assert.ok((student.lastValAcc ?? 0) > 0.7, `student ${student.lastValAcc}`);
    assert.ok(rec.history[1]!.loss < rec.history[0]!.loss);
    assert.match(
      rec.loss,
      variant === 'mas'
        ? /kdavg\(student\.logits ← teacher\.logits, head64\.logits, head256\.logits/
        : /0\.8·kd\(student\.logits ← teacher\.logits/,
    );
    assert.match(
      rec.loss,
      /1·gkd\(student\.embedding ← head64\.code, τ 2\) \+ 1·gkd\(student\.embedding ← head256\.code, τ 8\)/,
    );
  });
}

test('a staged run interrupted in stage 2 resumes in stage 2 and ends with the same weights; stage 1 is reused', async () => {
  const teacher = await trainedTeacher();
  const full = stagedRun(teacher, 'mag');
  await runStages(full.stages, { outDir: full.outDir, teacherBytes: full.teacherBytes });
  const outDir = tmp();
  let stage2 = false;
  const data = quadrantData(512, 1, (epoch, i) => {
    if (stage2 && epoch === 1 && i === 5) process.emit('SIGINT');
  });
  const cut = stagedRun(teacher, 'mag', { train: data, outDir });
  const lines: string[] = [];
  const first = await runStages(
    cut.stages.map((s, i) => ({
      ...s,
      build: (t) => {
        stage2 = i === 1;
        return s.build(t);
      },
    })),
    { outDir, teacherBytes: cut.teacherBytes },
  );
  assert.equal(first.interrupted, true);
  const ck = loadCheckpoint(outDir);
  assert.equal(ck.meta.stage, 'student');
  assert.equal(ck.meta.epoch, 1);
  const again = stagedRun(teacher, 'mag', { outDir, log: (l) => lines.push(l) });
  const second = await runStages(again.stages, {
    outDir,
    resume: true,
    teacherBytes: again.teacherBytes,
    log: (l) => lines.push(l),
  });
  assert.equal(second.stages[0]!.reused, true);
  assert.match(lines.join('\n'), /resumed from .* \(stage student\): epoch 1/);
  assert.ok(
    readFileSync(join(full.outDir, 'student.onnx')).equals(readFileSync(join(outDir, 'student.onnx'))),
    'student.onnx differs after resume',
  );
});
