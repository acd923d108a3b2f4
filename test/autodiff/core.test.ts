import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { GRAD_RULES } from '../../src/autodiff/registry.js';
import { Runtime } from '../../src/runtime/session.js';
import { gradcheck } from './gradcheck.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

test('a value used twice (residual) sums its gradients', async () => {
  const r = await gradcheck(
    {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (b, [x]) => b.add(b.op.Relu!([x!]), x!),
    },
    rt,
  );
  assert.ok(r.worst <= 1, r.details.join('\n'));
});

test('broadcast Add sums the gradient back to each input shape', async () => {
  const r = await gradcheck(
    {
      inputs: [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [3, 1] },
      ],
      build: (b, [x, y]) => b.add(x!, y!),
    },
    rt,
  );
  assert.ok(r.worst <= 1, r.details.join('\n'));
});

test('the harness detects a wrong gradient rule', async () => {
  const key = ':Softsign';
  assert.equal(GRAD_RULES.has(key), false);
  // A deliberately wrong rule (identity instead of dy / (1 + |x|)^2) must fail the check.
  GRAD_RULES.set(key, { ops: ['Softsign'], grad: ({ gradOut: [dy] }) => [dy] });
  try {
    const r = await gradcheck({ inputs: [{ name: 'x', shape: [6] }], build: (b, [x]) => b.op.Softsign!([x!]) }, rt);
    assert.ok(r.worst > 1, `wrong rule passed: ${r.details.join('; ')}`);
  } finally {
    GRAD_RULES.delete(key);
  }
});

test('an op without a rule fails at compile time naming the op and node', async () => {
  await assert.rejects(
    gradcheck({ inputs: [{ name: 'x', shape: [4] }], build: (b, [x]) => b.op.Softsign!([x!]) }, rt),
    /cannot differentiate Softsign node 'Softsign'.*no gradient rule/,
  );
});
