// Device fallback outside the training loop: `openRunner` (eval, export verification) tries the devices of a --device
// list in order, says which one it opened, and explains a device that does not start (CUDA: how to install its build).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openRunner } from '../../src/runtime/inference.js';
import { probeDevice } from '../../src/runtime/probe.js';
import { FIXTURES } from '../cli/helpers.js';

const model = readFileSync(`${FIXTURES}small_resnet_eval.onnx`);

test('probeDevice: the CPU runs x + x; CUDA without its build says how to install it', async (t) => {
  assert.deepEqual({ ...(await probeDevice('cpu')), ms: 0 }, { device: 'cpu', loads: true, ms: 0 });
  const cuda = await probeDevice('cuda');
  if (cuda.loads) return t.skip('CUDA loads here');
  assert.match(cuda.reason, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
});

test('openRunner: a --device list falls back to the CPU and reports it; one failing device is explained', async (t) => {
  if ((await probeDevice('cuda')).loads) return t.skip('CUDA loads here');
  const r = await openRunner('node', model, { device: 'cuda,cpu', threads: 1 });
  try {
    assert.equal(r.device, 'cpu');
    const out = await r.run(new Float32Array(2 * 28 * 28), [2, 1, 28, 28]);
    assert.deepEqual(out[r.outputNames[0]!]!.dims, [2, 10]);
  } finally {
    await r.close();
  }
  await assert.rejects(openRunner('node', model, { device: 'nosuch' }), /--device: unknown device 'nosuch'/);
  const web = await openRunner('web', model);
  assert.equal(web.device, 'wasm');
  await web.close();
});
