// Shared set-up of the distillation-engine tests: small zoo networks, the quadrant dataset, run options.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { loadModel, type Model } from '../../src/ir/model.js';
import { METHODS, mixTerms } from '../../src/methods/index.js';
import { stageTaps } from '../../src/pipeline/taps.js';
import type { RunOptions } from '../../src/train/loop.js';
import { train } from '../../src/train/trainer.js';
import { buildZooModel } from '../../src/zoo/index.js';
import { quadrantData } from '../train/synthetic.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
export const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'od-distill-'));
  dirs.push(d);
  return d;
};
export const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
export const zoo = (name: string, seed: number): Model =>
  buildZooModel(name, { input: [1, 28, 28], classes: 10, seed });

let teacherModel: Promise<Model> | undefined;
// A teacher that knows the quadrant task (trained once per test file by the one-network loop).
export function trainedTeacher(): Promise<Model> {
  teacherModel ??= (async () => {
    const out = tmp();
    await train({
      model: zoo('cnn-tiny', 7),
      train: quadrantData(256, 11),
      classes,
      epochs: 3,
      batchSize: 32,
      outDir: out,
      threads: 1,
      seed: 7,
      schedule: { kind: 'constant', lr: 0.05, epochs: 3 },
      optimizer: 'sgd',
      hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    });
    return loadModel(join(out, 'model.onnx'));
  })();
  return teacherModel;
}

// Networks and terms of a method preset on a teacher and K students (as the distill pipeline assembles them).
export function methodRun(
  method: string,
  teacher: Model | undefined,
  students: Model[],
  over: Partial<RunOptions> = {},
): RunOptions {
  const ms = method.split('+').map((m) => METHODS.get(m)!);
  const mode = ms.some((m) => m.teacher === 'trainable')
    ? 'trainable'
    : ms.some((m) => m.teacher === 'frozen')
      ? 'frozen'
      : 'none';
  const names = students.length > 1 ? students.map((_, i) => `student${i + 1}`) : ['student'];
  const networks: NetworkSpec[] = [
    ...(teacher && mode !== 'none'
      ? [{ name: 'teacher', model: teacher, role: 'teacher' as const, trainable: mode === 'trainable' }]
      : []),
    ...students.map((m, i) => ({ name: names[i]!, model: m, role: 'student' as const, trainable: true })),
  ];
  const composed: Record<string, string> = {};
  for (const m of ms) {
    if (!m.networks || !teacher) continue;
    const added = m.networks({ teacher, teacherName: 'teacher', seed: 5 });
    networks.push(...added.networks);
    Object.assign(composed, added.composed);
  }
  const train = over.train ?? quadrantData(512, 1);
  const terms = mixTerms(ms, {
    teacher: mode === 'none' ? undefined : 'teacher',
    students: names,
    stages: stageTaps(networks),
    trainSize: train.size,
  });
  const epochs = over.epochs ?? 3;
  return {
    networks,
    terms,
    train,
    val: quadrantData(64, 2),
    classes,
    epochs,
    batchSize: 32,
    schedule: { kind: 'constant', lr: 0.05, epochs },
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    ...(names.length > 1 ? { ensemble: names } : {}),
    exports: {
      files: Object.fromEntries(networks.filter((n) => n.trainable && !n.input).map((n) => [n.name, `${n.name}.onnx`])),
      ensembleFile: 'ensemble.onnx',
      composed,
    },
    seed: 5,
    outDir: tmp(),
    threads: 1,
    ...over,
  };
}
