// Learning-rate schedules are pure functions of the (fractional) epoch, so a resumed run sees the same values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { defaultLrUpdate, defaultMilestones, lrAt, parseSchedule, type LrUpdate } from '../../src/train/schedule.js';
import { UserError } from '../../src/util/errors.js';

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('multistep decays by gamma at each milestone (reference recipe 150/180/210 of 240)', () => {
  assert.deepEqual(defaultMilestones(240), [150, 180, 210]);
  const s = parseSchedule('multistep', 0.05, 240);
  near(lrAt(s, 149.9), 0.05);
  near(lrAt(s, 150), 0.005);
  near(lrAt(s, 210), 0.05 * 1e-3);
});

test('cosine goes from lr to 0 over the run, per epoch', () => {
  const s = parseSchedule('cosine', 0.1, 10, 0, 'epoch');
  near(lrAt(s, 0), 0.1);
  near(lrAt(s, 5.7), 0.05);
  assert.ok(lrAt(s, 9) < 0.003);
});

test('step and constant schedules, and linear warm-up per step', () => {
  near(lrAt(parseSchedule('step:3', 1, 9), 6), 0.01);
  near(lrAt(parseSchedule('constant', 0.2, 5), 4), 0.2);
  const w = parseSchedule('constant', 0.2, 5, 2);
  near(lrAt(w, 0.5), 0.05);
  near(lrAt(w, 2), 0.2);
});

test('bad schedule text names the option', () => {
  assert.throws(
    () => parseSchedule('wobbly', 0.1, 10),
    (e: unknown) => e instanceof UserError && /--schedule: unknown schedule 'wobbly'/.test(e.message),
  );
  assert.throws(() => parseSchedule('multistep:5,x', 0.1, 10), /--schedule: 'x' in 'multistep:5,x'/);
});

// torch.optim.lr_scheduler stepped as each recipe says (scripts/fixtures/lr_schedules.py): lrs[k] is what global
// optimizer step k used; ours is lrAt at the step's fractional epoch, as the training loop feeds it.
interface Case {
  name: string;
  schedule: string;
  update: LrUpdate;
  lr: number;
  epochs: number;
  steps: number;
  warmup: number;
  lrs: number[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/lr_schedules.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

for (const c of golden.cases) {
  test(`lr per step equals PyTorch's: ${c.name}`, () => {
    const s = parseSchedule(c.schedule, c.lr, c.epochs, c.warmup, c.update);
    assert.equal(c.lrs.length, c.epochs * c.steps);
    // LinearLR cannot start at 0: the warm-up case agrees to lr * 1e-9 (its start factor).
    const tol = c.warmup ? 1e-9 : 1e-12;
    c.lrs.forEach((want, k) => {
      const got = lrAt(s, Math.floor(k / c.steps) + (k % c.steps) / c.steps);
      assert.ok(Math.abs(got - want) <= tol, `${c.name}: step ${k}: ${got} != ${want}`);
    });
  });
}

test('the default update is per step for cosine (PyTorch CosineAnnealingLR with T_max = total steps), per epoch for step/multistep', () => {
  const perStep = golden.cases.find((c) => c.name === 'cosine per step')!;
  const s = parseSchedule('cosine', perStep.lr, perStep.epochs);
  assert.equal(s.update, 'step');
  const k = perStep.lrs.length - 1;
  assert.ok(
    Math.abs(lrAt(s, Math.floor(k / perStep.steps) + (k % perStep.steps) / perStep.steps) - perStep.lrs[k]!) < 1e-12,
  );
  assert.deepEqual(['cosine', 'constant', 'step:3', 'multistep:2,4', 'step', 'multistep'].map(defaultLrUpdate), [
    'step',
    'step',
    'epoch',
    'epoch',
    'epoch',
    'epoch',
  ]);
  assert.equal(parseSchedule('multistep', 0.1, 10).update, 'epoch');
});
