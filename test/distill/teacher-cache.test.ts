// The teacher cache: replayed teacher logits train the same student, bit for bit, as the teacher in the step; a warm
// cache never runs the teacher; another teacher or other data misses; feature methods bypass it, saying why.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { distill } from '../../src/pipeline/distill.js';
import { FIXTURES } from '../cli/helpers.js';
import { runNetworks } from '../../src/train/loop.js';
import type { RunRecord } from '../../src/train/loop.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, tmp, trainedTeacher, zoo } from './helpers.js';

const student = (o: { outDir: string }) => readFileSync(join(o.outDir, 'student.onnx'));
const misses = (r: RunRecord) => r.history.map((h) => h.teacherCache?.misses);
const hits = (r: RunRecord) => r.history.map((h) => h.teacherCache?.hits);

test('kd with a cold cache trains the same student as without; a warm cache again, without running the teacher', async () => {
  const teacher = await trainedTeacher();
  const cache = tmp();
  const off = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2 });
  await runNetworks(off);
  const cold = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2, teacherCache: cache });
  const coldRec = await runNetworks(cold);
  assert.deepEqual(misses(coldRec), [16, 16]);
  assert.ok(
    student(off).equals(student(cold)),
    'the cold-cache student differs from the one trained with the teacher in the step',
  );
  const lines: string[] = [];
  const warm = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], {
    epochs: 2,
    teacherCache: cache,
    log: (l) => lines.push(l),
  });
  const warmRec = await runNetworks(warm);
  assert.deepEqual(misses(warmRec), [0, 0]);
  assert.deepEqual(hits(warmRec), [16, 16]);
  assert.ok(student(off).equals(student(warm)), 'the warm-cache student differs');
  assert.match(lines.join('\n'), /teacher cache: teacher replayed from .* \(2 of 2 epochs stored\)/);
  const dir = warmRec.teacherCache!.dirs.teacher!;
  assert.deepEqual(readdirSync(dir).sort(), ['epoch-0.bin', 'epoch-1.bin', 'key.json']);
  // Another student and method on the same teacher and data replay the same files.
  const other = await runNetworks(methodRun('dkd', teacher, [zoo('cnn-tiny', 9)], { epochs: 1, teacherCache: cache }));
  assert.deepEqual(misses(other), [0]);
});

test('another teacher or other data misses the cache; another seed too', async () => {
  const teacher = await trainedTeacher();
  const cache = tmp();
  const base = await runNetworks(methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 1, teacherCache: cache }));
  assert.deepEqual(misses(base), [16]);
  const otherTeacher = await runNetworks(
    methodRun('kd', zoo('cnn-tiny', 8), [zoo('cnn-tiny', 4)], { epochs: 1, teacherCache: cache }),
  );
  assert.deepEqual(misses(otherTeacher), [16]);
  const otherData = await runNetworks(
    methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 1, teacherCache: cache, train: quadrantData(512, 3) }),
  );
  assert.deepEqual(misses(otherData), [16]);
  const otherSeed = await runNetworks(
    methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 1, teacherCache: cache, seed: 6 }),
  );
  assert.deepEqual(misses(otherSeed), [16]);
  assert.equal(new Set([base, otherTeacher, otherData, otherSeed].map((r) => r.teacherCache!.dirs.teacher)).size, 4);
});

test('a feature method (at) keeps the teacher in the step and says why', async () => {
  const teacher = await trainedTeacher();
  const lines: string[] = [];
  const rec = await runNetworks(
    methodRun('at', teacher, [zoo('cnn-tiny', 4)], { epochs: 1, teacherCache: tmp(), log: (l) => lines.push(l) }),
  );
  assert.match(
    lines.join('\n'),
    /teacher cache: not used for 'teacher': term 'at\.\w+' reads teacher\.\w+, not its logits/,
  );
  assert.deepEqual(rec.teacherCache!.dirs, {});
  assert.equal(rec.history[0]!.teacherCache, undefined);
});

test('an interrupted cold epoch publishes what it stored; the resumed run fills the rest and matches an uninterrupted one', async () => {
  const teacher = await trainedTeacher();
  const full = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2 });
  await runNetworks(full);
  const cache = tmp();
  const data = quadrantData(512, 1, (epoch, i) => {
    if (epoch === 1 && i === 5) process.emit('SIGINT');
  });
  const cut = methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2, train: data, teacherCache: cache });
  const first = await runNetworks(cut);
  assert.equal(first.interrupted, true);
  const resumed = await runNetworks({ ...cut, train: quadrantData(512, 1), resume: true });
  // Epoch 1 resumes at batch 6: batches 0-5 were stored before the interrupt.
  assert.deepEqual(misses(resumed), [16, 10]);
  assert.ok(student(full).equals(student(cut)));
  const warm = await runNetworks(methodRun('kd', teacher, [zoo('cnn-tiny', 4)], { epochs: 2, teacherCache: cache }));
  assert.deepEqual(misses(warm), [0, 0]);
});

test('distill --teacher-cache auto: an augmented image folder, the cache beside the run folder, replayed by another student', async () => {
  const root = tmp();
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(root, 'images', 'train'), 400);
  const run = (out: string, teacherCache: string, student = 'zoo:cnn-tiny') =>
    distill({
      data: join(root, 'images'),
      teacher: join(FIXTURES, 'small_resnet_eval.onnx'),
      student,
      method: 'kd',
      epochs: 2,
      batchSize: 50,
      threads: 1,
      augment: 'cifar',
      out: join(root, 'runs', out),
      teacherCache,
    });
  await run('off', 'off');
  const cold = await run('cold', 'auto');
  assert.ok(cold.teacherCache!.dirs.teacher!.startsWith(join(root, 'runs', '.teacher-cache')));
  assert.deepEqual(misses(cold), [8, 8]);
  const warm = await run('warm', 'auto');
  assert.deepEqual(misses(warm), [0, 0]);
  for (const r of ['cold', 'warm'])
    assert.ok(
      readFileSync(join(root, 'runs', 'off', 'student.onnx')).equals(
        readFileSync(join(root, 'runs', r, 'student.onnx')),
      ),
      r,
    );
  const other = await run('other', 'auto', 'zoo:cnn');
  assert.deepEqual(misses(other), [0, 0]);
  assert.ok(!existsSync(join(root, 'runs', 'off', '.teacher-cache')));
});
