// By-hand check (too big for CI) that torchvision's full ConvNeXt-Tiny and ViT-B/16 training-mode exports train as
// students with PyTorch-equal steps: one step's loss, logits and every gradient against scripts/bench/torchvision_step.py
// on the same weights and batch (2 images, 224 px). Prints the worst relative error per kind (max |Δ| over max |ref| of
// each tensor, the worst tensor named).
//   /usr/bin/python3 scripts/bench/torchvision_step.py vit /tmp/tv && node --import tsx scripts/bench/torchvision-step.ts vit /tmp/tv
import { readFileSync } from 'node:fs';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { loadModel } from '../../src/ir/model.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { oneHot } from '../../src/train/labels.js';

const [name, dir] = process.argv.slice(2) as [string, string];
const ref = JSON.parse(readFileSync(`${dir}/${name}.json`, 'utf8')) as {
  loss: number;
  y: number[];
  index: Record<string, [number, number[]]>;
};
const bin = readFileSync(`${dir}/${name}.grads.bin`);
const all = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
const get = (k: string) => {
  const [off, shape] = ref.index[k]!;
  return all.subarray(off, off + shape.reduce((a, b) => a * b, 1));
};
// A tensor's max |Δ| over its max |ref|, the scale floored at `floor`: a gradient that is zero in exact arithmetic
// (the bias of a BatchNorm whose output feeds another training-mode BatchNorm through a convolution, ~1e-8 of float
// noise on both sides) is compared against the largest gradient of the model instead of its own noise.
const relErr = (got: ArrayLike<number>, want: Float32Array, floor = 0) => {
  let d = 0,
    s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    s = Math.max(s, Math.abs(want[i]!));
  }
  return d / (Math.max(s, floor) || 1);
};

const t0 = Date.now();
const model = loadModel(`${dir}/${name}.train.onnx`);
const step = compileTrainStep({
  model,
  batch: 2,
  terms: [{ term: 'ce' }],
  optimizer: 'sgd',
  exposeGradients: true,
  hyper: { weightDecay: 0, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
});
const initial = new Map(model.graph.initializers.map((v) => [v.name, v.constant!]));
const rt = new Runtime({ threads: 2 });
const init: Record<string, TensorData> = {};
for (const e of [...step.params, ...step.buffers])
  init[e.name] = { type: 'float32', dims: e.shape, data: new Float32Array(initial.get(e.source)!.toNumbers()) };
for (const s of step.slots)
  init[s.name] = { type: 'float32', dims: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) };
await rt.setState(init);
const session = await rt.session(step.bytes, `${name} step`);
const r = await session.run(
  {
    [step.inputName]: { type: 'float32', dims: [2, 3, 224, 224], data: Float32Array.from(get('__x')) },
    labels: { type: 'float32', dims: [2, 1000], data: oneHot(Int32Array.from(ref.y), 2, 1000) },
    lr: { type: 'float32', dims: [], data: Float32Array.of(0.1) },
    w_ce: { type: 'float32', dims: [], data: Float32Array.of(1) },
  },
  ['loss', 'logits.model', ...step.params.map((p) => `grad.${p.name}`)],
  step.carry,
);
const loss = Number(r.loss!.data[0]);
let worst = { err: 0, name: '' };
const errs: { name: string; err: number; scale: number }[] = [];
const missing = Object.keys(ref.index).filter((k) => !k.startsWith('__') && !step.params.some((p) => p.source === k));
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const floor = 1e-4 * Math.max(...step.params.map((p) => maxAbs(get(p.source))));
for (const p of step.params) {
  const e = relErr(r[`grad.${p.name}`]!.data as Float32Array, get(p.source), floor);
  if (e > worst.err) worst = { err: e, name: p.source };
  errs.push({ name: p.source, err: e, scale: maxAbs(get(p.source)) });
}
const real = errs.filter((e) => e.scale >= floor).sort((a, b) => b.err - a.err);
const worstNonzero = real[0] ? `${real[0].name} ${real[0].err.toExponential(2)}` : 'none';
const worst5 = errs
  .sort((a, b) => b.err - a.err)
  .slice(0, 5)
  .map((e) => `${e.name} ${e.err.toExponential(2)} (max |grad| ${e.scale.toExponential(2)})`);
console.log(
  JSON.stringify(
    {
      model: name,
      parameters: step.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0),
      tensors: step.params.length,
      torchParamsWithoutGradient: missing,
      loss,
      torchLoss: ref.loss,
      lossRelErr: Math.abs(loss - ref.loss) / Math.abs(ref.loss),
      logitsRelErr: relErr(r['logits.model']!.data as Float32Array, get('__logits')),
      worstGradRelErr: worst.err,
      worstGradTensor: worst.name,
      worst5,
      worstNonzero,
      nearZeroTensors: errs.length - real.length,
      seconds: (Date.now() - t0) / 1000,
    },
    null,
    1,
  ),
);
await session.release();
await rt.close();
