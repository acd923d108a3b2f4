// Quantisation-aware distillation through the loop with tracked activation ranges: the ranges are checkpointed state,
// so a run interrupted mid-epoch and resumed ends with the same ranges and the same student as an uninterrupted one;
// the exported student's QAT record carries the final ranges (not the calibrated ones), and `export --format int8`
// writes exactly the scales and zero points the final evaluation graph used, and computes what that graph computes in
// onnxruntime-node and onnxruntime-web.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileInference } from '../../src/compiler/inference.js';
import type { NetworkSpec } from '../../src/compiler/network.js';
import { cleanInferenceGraph } from '../../src/export/fp32.js';
import { format as int8Format } from '../../src/export/formats/int8.js';
import { calibrateQat, fakeQuantSpec, QAT_AVERAGING, qatRecordOf, trainedRecord } from '../../src/export/qat.js';
import { activationParams } from '../../src/export/qdq.js';
import { loadModel, parseModel, serializeModel } from '../../src/ir/model.js';
import { META_QAT } from '../../src/ir/metadata.js';
import { openRunner } from '../../src/runtime/inference.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runNetworks, type RunOptions } from '../../src/train/loop.js';
import { randn } from '../autodiff/gradcheck.js';
import { quadrantData } from '../train/synthetic.js';
import { methodRun, trainedTeacher, zoo } from './helpers.js';

const quiet = { json: true, verbose: false, print: () => {}, log: () => {} };

// Random images in batches, as calibration reads them.
function images(seed: number, batches: number, n: number) {
  return async function* () {
    const rnd = randn(seed);
    for (let k = 0; k < batches; k++)
      yield { x: Float32Array.from({ length: n * 784 }, () => Math.abs(rnd())), dims: [n, 1, 28, 28], n };
  };
}

// A KD run whose student trains fake-quantised from calibrated ranges, tracked; its export carries the final record.
async function qatRun(
  over: Partial<RunOptions>,
): Promise<{ run: RunOptions; start: Record<string, [number, number]> }> {
  const teacher = await trainedTeacher();
  const model = zoo('cnn-tiny', 41);
  const calibrated = await calibrateQat(model, images(3, 2, 32), {
    calibrate: 'minmax',
    weightBits: 7,
    count: 64,
    open: (bytes) => openRunner('node', bytes, { threads: 1 }),
  });
  const record = { ...calibrated, averaging: QAT_AVERAGING };
  const base = methodRun('kd', teacher, [model], { epochs: 2, ...over });
  const networks = base.networks.map((n) => (n.name === 'student' ? { ...n, fakeQuant: fakeQuantSpec(record) } : n));
  const final = (trained: Record<string, TensorData>) => ({
    [META_QAT]: JSON.stringify(trainedRecord(record, trained)),
  });
  return {
    run: { ...base, networks, exports: { ...base.exports, networkMetadata: { student: final } } },
    start: record.ranges,
  };
}

const rangesOf = (tensors: Record<string, TensorData>) =>
  Object.fromEntries(
    Object.entries(tensors)
      .filter(([k]) => /:qat_(min|max)$/.test(k))
      .map(([k, t]) => [k, (t.data as Float32Array)[0]!]),
  );

test('QAT ranges are checkpointed state: an interrupted and resumed run ends as an uninterrupted one', async () => {
  const { run: full, start } = await qatRun({});
  await runNetworks(full);
  const done = loadCheckpoint(full.outDir).tensors;
  const ranges = rangesOf(done);
  assert.equal(Object.keys(ranges).length, 2 * Object.keys(start).length, 'a min and a max per calibrated activation');
  const moved = Object.keys(start).filter(
    (name) =>
      ranges[`student/${name}:qat_min`] !== start[name]![0] || ranges[`student/${name}:qat_max`] !== start[name]![1],
  );
  assert.deepEqual(moved, Object.keys(start), 'every range moved away from the calibrated one');

  const data = quadrantData(512, 1, (epoch, i) => {
    if (epoch === 1 && i === 5) process.emit('SIGINT');
  });
  const { run: cut } = await qatRun({ train: data });
  assert.equal((await runNetworks(cut)).interrupted, true);
  const ck = loadCheckpoint(cut.outDir);
  assert.deepEqual([ck.meta.reason, ck.meta.epoch], ['interrupt', 1]);
  const atCut = rangesOf(ck.tensors);
  assert.ok(
    Object.keys(atCut).some((k) => atCut[k] !== ranges[k]),
    'the interrupted state holds ranges as they stood mid-run',
  );
  await runNetworks({ ...cut, train: quadrantData(512, 1), resume: true });
  assert.deepEqual(rangesOf(loadCheckpoint(cut.outDir).tensors), ranges, 'ranges differ after resume');
  assert.ok(
    readFileSync(join(full.outDir, 'student.onnx')).equals(readFileSync(join(cut.outDir, 'student.onnx'))),
    'student.onnx (weights and QAT record) differs after resume',
  );
});

// The scale and zero point of every activation QuantizeLinear of the evaluation graph, by the quantised value's name
// in the student's own graph, as onnxruntime computes them from the state on a batch.
async function evalParams(
  rt: Runtime,
  spec: NetworkSpec,
  state: Record<string, TensorData>,
  x: TensorData,
): Promise<{ params: Map<string, [number, number]>; logits: Float32Array }> {
  const ev = compileInference([spec]);
  const m = parseModel(ev.bytes);
  // Per-tensor (activation) quantizers have no axis; the weights' per-channel ones do.
  const qs = m.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.attributes.has('axis'));
  const names = qs.map((q) => (q.input(0).name === 'input' ? 'input' : q.input(0).name.replace(/^student\//, '')));
  for (const q of qs) m.graph.outputs.push(q.input(1), q.input(2));
  const s = await rt.session(serializeModel(m).onnx, 'evaluation graph');
  const feeds = Object.fromEntries(ev.stateNames.map((n) => [n, state[n]!]));
  const r = await s.run({ input: x, ...feeds });
  const params = new Map<string, [number, number]>(
    qs.map((q, i) => [names[i]!, [r[q.input(1).name]!.data[0] as number, r[q.input(2).name]!.data[0] as number]]),
  );
  return { params, logits: r['logits.student']!.data as Float32Array };
}

test('the int8 export of a tracked-QAT student holds its final ranges and computes its final evaluation graph', async () => {
  const { run, start } = await qatRun({ epochs: 1 });
  await runNetworks(run);
  const state = loadCheckpoint(run.outDir).tensors;
  const student = loadModel(join(run.outDir, 'student.onnx'));
  const record = qatRecordOf(student)!;
  assert.deepEqual(record.calibrated, start);
  for (const name of Object.keys(start))
    assert.deepEqual(
      record.ranges[name],
      [state[`student/${name}:qat_min`]!.data[0], state[`student/${name}:qat_max`]!.data[0]],
      `${name}: the record holds the final tracked range`,
    );
  const { model: clean } = cleanInferenceGraph(parseModel(serializeModel(student).onnx));
  const fp32Bytes = serializeModel(clean).onnx; // before the int8 writer rewrites the graph in place
  const input = clean.graph.inputs[0]!.name;
  const { model: int8, calibration } = await int8Format.convert(clean, {
    options: {},
    data: undefined as never,
    info: undefined as never,
    path: 'student.onnx',
    ctx: quiet,
  });
  assert.match(JSON.stringify(calibration), /then tracked through QAT by a moving average of constant 0\.01/);
  const init = new Map(int8.graph.initializers.map((v) => [v.name, v.constant!.toNumbers()[0]!]));
  const rnd = randn(17);
  const x: TensorData = { type: 'float32', dims: [64, 1, 28, 28], data: Float32Array.from({ length: 64 * 784 }, rnd) };
  const spec = run.networks.find((n) => n.name === 'student')!;
  const rt = new Runtime({ threads: 1 });
  try {
    const ev = await evalParams(rt, spec, state, x);
    assert.ok(ev.params.size >= Object.keys(start).length, `${[...ev.params.keys()]} quantised`);
    // The export's cleaning names a value after the dangling tap Identity that copies it (Relu_out0 -> f0).
    const named = (name: string) =>
      [
        name,
        ...spec.model.graph.nodes
          .filter((n) => n.opType === 'Identity' && n.input(0).name === name)
          .map((n) => n.outputs[0]!.name),
      ].find((n) => init.has(`${n}_scale`)) ?? name;
    for (const [name, [scale, zero]] of ev.params) {
      const at = name === 'input' ? input : named(name);
      assert.deepEqual([init.get(`${at}_scale`), init.get(`${at}_zero_point`)], [scale, zero], `${name}: int8 export`);
    }
    // Not the calibrated ranges' parameters: those are what a held run would have exported.
    const changed = Object.keys(start).filter((n) => activationParams(...start[n]!).scale !== ev.params.get(n)?.[0]);
    assert.ok(changed.length > 0, 'the final parameters differ from the calibrated ones');
    const s = await rt.session(serializeModel(int8).onnx, 'int8 export');
    const z = Object.values(await s.run({ [input]: x }))[0]!.data as Float32Array;
    const fp32 = await rt.session(fp32Bytes, 'fp32 student');
    const zf = Object.values(await fp32.run({ [input]: x }))[0]!.data as Float32Array;
    let worst = 0,
      off = 0,
      agree = 0;
    const argmax = (v: Float32Array, i: number) =>
      v.slice(i * 10, i * 10 + 10).reduce((b, c, k, a) => (c > a[b]! ? k : b), 0);
    for (let i = 0; i < z.length; i++) {
      worst = Math.max(worst, Math.abs(z[i]! - ev.logits[i]!));
      off = Math.max(off, Math.abs(zf[i]! - ev.logits[i]!));
    }
    for (let i = 0; i < 64; i++) agree += argmax(z, i) === argmax(ev.logits, i) ? 1 : 0;
    // Within rounding: the int8 kernels accumulate exactly where the float graph rounds, a step here and there.
    const scale = Math.max(...ev.logits.map(Math.abs));
    assert.ok(worst <= 0.02 * scale, `int8 and the final evaluation graph differ by ${worst} (logits up to ${scale})`);
    // onnxruntime-web (wasm) runs the same file to the same outputs within the same rounding.
    const web = await openRunner('web', serializeModel(int8).onnx);
    try {
      const zw = Object.values(await web.run(x.data as Float32Array, x.dims))[0]!.data as Float32Array;
      let w = 0;
      for (let i = 0; i < zw.length; i++) w = Math.max(w, Math.abs(zw[i]! - ev.logits[i]!));
      assert.ok(w <= 0.02 * scale, `int8 in web and the final evaluation graph differ by ${w}`);
    } finally {
      await web.close();
    }
    assert.ok(worst < off, `int8 is nearer the fake-quantised student (${worst}) than the fp32 one is (${off})`);
    assert.ok(agree >= 62, `top-1 agreement with the final evaluation graph: ${agree}/64`);
  } finally {
    await rt.close();
  }
});
