// The CPU NCHWc lowering gives the same training step as the portable standard-op graph: two SGD steps of a zoo
// ResNet-8 (channels 16/32/64, stride-2 and 1x1 convs, forward and backward Convs) on the same state and batch.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { lowerModelToNchwc, nchwcBlockSize } from '../../src/runtime/lower/nchwc.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { initialState } from '../../src/train/state.js';
import { resolveModelSpec } from '../../src/zoo/index.js';
import { assertClose } from '../helpers/close.js';

const rt = new Runtime({ threads: 1 });
after(() => rt.close());

test('NCHWc-lowered step equals the portable step (loss, logits, every new weight and running stat, two steps)', async (t) => {
  const block = await nchwcBlockSize();
  if (!block) return t.skip('this onnxruntime build has no NCHWc kernels on this CPU');
  const batch = 4;
  const model = resolveModelSpec('zoo:resnet8', { input: [1, 16, 16], classes: 10, seed: 3 });
  const step = compileTrainStep({
    model,
    batch,
    terms: [{ term: 'ce' }],
    optimizer: 'sgd',
    hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  });
  const lowered = lowerModelToNchwc(step.bytes, block);
  assert.ok(lowered.lowered >= 10, `only ${lowered.lowered} Convs lowered`);
  const x = Float32Array.from({ length: batch * 256 }, (_, i) => Math.sin(i * 0.7));
  const labels = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) labels[i * 10 + ((i * 3) % 10)] = 1;
  const fetch = ['loss', 'logits.model', ...Object.keys(step.carry)];
  const runTwo = async (portable: boolean) => {
    await rt.clearState();
    await rt.setState(initialState(step));
    const s = await rt.session(step.bytes, 'step', { portable });
    const out: Record<string, TensorData>[] = [];
    for (let k = 0; k < 2; k++) {
      out.push(
        await s.run(
          {
            [step.inputName]: { type: 'float32', dims: [batch, 1, 16, 16], data: x.slice() },
            labels: { type: 'float32', dims: [batch, 10], data: labels.slice() },
            lr: { type: 'float32', dims: [], data: Float32Array.of(0.1) },
            w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
          },
          fetch,
          step.carry,
        ),
      );
    }
    await s.release();
    return out;
  };
  const portable = await runTwo(true);
  const cpu = await runTwo(false);
  for (let k = 0; k < 2; k++) {
    for (const name of fetch)
      assertClose(
        `step ${k + 1} ${name}`,
        cpu[k]![name]!.data as Float32Array,
        Array.from(portable[k]![name]!.data as Float32Array),
        1e-5,
        1e-3,
      );
  }
});
