// `stages:` of a run config on a staged method's stages: each key overrides that setting of the named stage (over the
// method's default and --stage-optimizer), and the stage's cache key changes with every setting that changes what it
// trains, so a finished stage is never reused for another config. No training here: the stages are only built.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageConfig } from '../../src/config/options.js';
import type { Model } from '../../src/ir/model.js';
import { METHODS } from '../../src/methods/index.js';
import { methodStages, type StageCommon } from '../../src/pipeline/staged.js';
import { parseSchedule } from '../../src/train/schedule.js';
import { stageKey } from '../../src/train/stages.js';
import { UserError } from '../../src/util/errors.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, zoo } from './helpers.js';

const teacher = zoo('cnn-tiny', 7);

// mgd+kd's stages on a run of 3 epochs, SGD lr 0.05 cosine, with `stages` and --stage-optimizer as given.
function mgdStages(
  stages?: Record<string, StageConfig>,
  o: { runOptimizer?: boolean; train?: ReturnType<typeof quadrantData>; teacher?: Model } = {},
) {
  const t = o.teacher ?? teacher;
  const base = methodRun('kd', t, [zoo('cnn-tiny', 20)], { epochs: 3, ...(o.train ? { train: o.train } : {}) });
  const { networks, terms: _t, exports, schedule: _s, outDir: _o, resume: _r, ...shared } = base;
  const common: StageCommon = {
    ...shared,
    exports: { ...exports },
    schedule: (s) => parseSchedule(s.text ?? 'cosine', s.lr ?? 0.05, s.epochs ?? 3, s.warmup ?? 0, s.lrUpdate),
    ...(o.runOptimizer ? { runOptimizer: true } : {}),
    ...(stages ? { stageConfig: stages } : {}),
  };
  return methodStages(
    METHODS.get('mgd')!,
    { teacher: t, students: networks.filter((n) => n.role === 'student'), base: [METHODS.get('kd')!], seed: 5 },
    common,
  );
}
const keyOf = (stages?: Record<string, StageConfig>, i = 0) => stageKey(undefined, mgdStages(stages)[i]!.key);

test('a stage entry overrides its stage only: epochs, optimizer, lr, schedule, momentum, weight decay, terms', () => {
  const [heads, student] = mgdStages({
    heads: { epochs: 5, optimizer: 'adam', lr: 1e-3, schedule: 'constant', weightDecay: 0 },
    student: { momentum: 0.5, nesterov: true, terms: { ce: 0.3 } },
  });
  const h = heads!.build({});
  assert.equal(h.epochs, 5);
  assert.equal(h.optimizer, 'adam');
  assert.deepEqual(h.schedule, { kind: 'constant', lr: 1e-3, epochs: 5, update: 'step' });
  assert.equal(h.hyper.weightDecay, 0);
  assert.equal(heads!.summary, '5 epochs, adam lr 0.001 constant, weight decay 0');
  const handed = Object.fromEntries(h.networks.filter((n) => n.role === 'auxiliary').map((n) => [n.name, n.model]));
  const s = student!.build(handed);
  assert.equal(s.epochs, 3);
  assert.equal(s.optimizer, 'sgd');
  assert.deepEqual(s.schedule, { kind: 'cosine', lr: 0.05, epochs: 3, update: 'step' });
  assert.equal(s.hyper.momentum, 0.5);
  assert.equal(s.hyper.nesterov, true);
  assert.equal(s.hyper.weightDecay, 5e-4);
  assert.equal(s.terms.find((t) => t.name === 'ce')!.weight, 0.3);
  assert.equal(s.terms.find((t) => t.name === 'kd')!.weight, 0.8, 'the other terms keep their weights');
});

test("precedence: a stage entry over the method's optimizer, which --stage-optimizer run replaces by the run's", () => {
  const method = mgdStages()[0]!.build({});
  assert.deepEqual([method.optimizer, method.schedule.lr], ['sgd', 0.01], 'mgd heads: SGD lr 0.01 (§4(c))');
  const run = mgdStages(undefined, { runOptimizer: true })[0]!.build({});
  assert.deepEqual([run.optimizer, run.schedule.lr], ['sgd', 0.05]);
  const entry = mgdStages({ heads: { optimizer: 'adam' } }, { runOptimizer: true })[0]!.build({});
  assert.deepEqual(
    [entry.optimizer, entry.schedule.lr],
    ['adam', 0.05],
    'an entry that sets only the optimizer keeps the lr in force',
  );
  const lrOnly = mgdStages({ heads: { lr: 0.2 } })[0]!.build({});
  assert.deepEqual([lrOnly.optimizer, lrOnly.schedule.lr], ['sgd', 0.2]);
});

test('changing any setting of a stage changes its cache key; an entry for another stage does not', () => {
  const base = keyOf();
  assert.equal(keyOf(), base, 'the same config gives the same key');
  assert.equal(keyOf({ heads: {} }), base, 'an empty entry changes nothing');
  assert.equal(keyOf({ heads: { lr: 0.01 } }), base, "the method's own lr, given explicitly, trains the same thing");
  const changed: Record<string, StageConfig> = {
    epochs: { epochs: 4 },
    optimizer: { optimizer: 'adam' },
    lr: { lr: 0.02 },
    momentum: { momentum: 0.8 },
    nesterov: { nesterov: true },
    weightDecay: { weightDecay: 0 },
    schedule: { schedule: 'step:1' },
    warmup: { warmup: 1 },
    lrUpdate: { lrUpdate: 'epoch' },
    terms: { terms: { ce: 2 } },
  };
  const keys = new Set([base]);
  for (const [what, entry] of Object.entries(changed)) {
    const k = keyOf({ heads: entry });
    assert.notEqual(k, base, `stages.heads.${what} left the heads key unchanged`);
    keys.add(k);
  }
  assert.equal(keys.size, Object.keys(changed).length + 1, 'every change gives its own key');
  assert.equal(
    keyOf({ student: { lr: 0.5, epochs: 9 } }),
    base,
    "the student stage's settings do not touch the heads stage",
  );
  assert.notEqual(keyOf({ student: { lr: 0.5 } }, 1), keyOf(undefined, 1));
  assert.notEqual(
    stageKey(undefined, mgdStages(undefined, { runOptimizer: true })[0]!.key),
    base,
    '--stage-optimizer run changes the heads key',
  );
  assert.notEqual(
    stageKey(undefined, mgdStages(undefined, { train: quadrantData(512, 3) })[0]!.key),
    base,
    'other training data changes the key',
  );
});

test('bad stage entries are UserErrors naming the stage key, before anything trains', () => {
  const cases: [Record<string, StageConfig>, RegExp][] = [
    [{ head: { lr: 1 } }, /'stages\.head': mgd has no stage 'head'; its stages are heads, student/],
    [{ heads: { schedule: 'linear' } }, /'stages\.heads\.schedule': unknown schedule 'linear'/],
    [
      { student: { terms: { kdd: 1 } } },
      /'stages\.student\.terms': 'kdd' is not a term of this run; its terms are ce, kd, gkd64, gkd256/,
    ],
    [{ heads: { terms: 'ce=x' } }, /'stages\.heads\.terms': 'ce=x' is not name=weight/],
  ];
  for (const [stages, msg] of cases)
    assert.throws(
      () => mgdStages(stages),
      (e: unknown) => e instanceof UserError && msg.test(e.message),
      JSON.stringify(stages),
    );
});
