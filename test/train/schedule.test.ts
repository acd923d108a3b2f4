// Learning-rate schedules are pure functions of the (fractional) epoch, so a resumed run sees the same values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMilestones, lrAt, parseSchedule } from '../../src/train/schedule.js';
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
  const s = parseSchedule('cosine', 0.1, 10);
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
  assert.throws(() => parseSchedule('wobbly', 0.1, 10), (e: unknown) => e instanceof UserError && /--schedule: unknown schedule 'wobbly'/.test(e.message));
  assert.throws(() => parseSchedule('multistep:5,x', 0.1, 10), /--schedule: 'x' in 'multistep:5,x'/);
});
