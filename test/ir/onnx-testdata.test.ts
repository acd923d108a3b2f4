import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { parseModel, serializeModel } from '../../src/ir/model.js';
import { tensorFromProto } from '../../src/ir/tensorProto.js';
import { TensorProtoSchema } from '../../src/onnx/onnx_pb.js';
import { Runtime } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/tensor.js';
import { sameOutputs } from './helpers.js';

// ONNX's own node-test models (Debian libonnx-testdata, installed by .ci/run): a fixed sample of 300 must load,
// save and run in onnxruntime exactly as the originals do. A model is skipped only when onnxruntime cannot run
// the original itself.
const ROOT = '/usr/share/libonnx-testdata/data';
const SAMPLE = 300;

function sample(): string[] {
  if (!existsSync(ROOT)) return [];
  const dirs: string[] = [];
  for (const group of ['node', 'pytorch-operator', 'simple']) {
    const base = join(ROOT, group);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base).sort()) if (existsSync(join(base, d, 'model.onnx'))) dirs.push(join(base, d));
  }
  const step = Math.max(1, Math.floor(dirs.length / SAMPLE));
  return dirs.filter((_, i) => i % step === 0).slice(0, SAMPLE);
}

// The inputs of test_data_set_0 as runtime tensors, or undefined when one is not a plain numeric tensor.
function inputsOf(dir: string, names: string[]): Record<string, TensorData> | undefined {
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(set)) return undefined;
  const feeds: Record<string, TensorData> = {};
  for (let i = 0; i < names.length; i++) {
    const f = join(set, `input_${i}.pb`);
    if (!existsSync(f)) return undefined;
    try {
      const t = tensorFromProto(fromBinary(TensorProtoSchema, readFileSync(f)));
      feeds[names[i]!] = { type: t.dtype, dims: [...t.dims], data: t.data };
    } catch {
      return undefined;
    }
  }
  return feeds;
}

const dirs = sample();
let rt: Runtime;
before(() => {
  rt = new Runtime({ threads: 1 });
});
after(async () => {
  await rt?.close();
});

async function tryRun(bytes: Uint8Array, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const s = await rt.session(bytes);
  try {
    return await s.run(structuredClone(feeds));
  } finally {
    await s.release();
  }
}

describe(
  'ONNX node-test models round-trip (libonnx-testdata)',
  { skip: dirs.length === 0 ? 'libonnx-testdata is not installed (.ci/run installs it)' : false },
  () => {
    for (const dir of dirs) {
      const name = dir.slice(ROOT.length + 1);
      test(name, async (t) => {
        const original = readFileSync(join(dir, 'model.onnx'));
        const model = parseModel(original, name);
        const saved = serializeModel(model).onnx;
        assert.deepEqual(
          Buffer.from(serializeModel(parseModel(saved)).onnx),
          Buffer.from(saved),
          'a second round-trip is byte-stable',
        );
        // String outputs crash the runtime worker's transfer list (reported); they are not image-model territory anyway.
        if (model.graph.outputs.some((v) => v.type?.dtype === 'string')) {
          t.skip('string outputs');
          return;
        }
        const feeds = inputsOf(
          dir,
          model.graph.inputs.map((v) => v.name),
        );
        if (!feeds) {
          t.skip('inputs are not plain tensors');
          return;
        }
        let expected: Record<string, TensorData>;
        try {
          expected = await tryRun(original, feeds);
        } catch (err: unknown) {
          t.skip(`onnxruntime cannot run the original: ${String(err).split('\n')[1] ?? String(err)}`);
          return;
        }
        assert.equal(sameOutputs(expected, await tryRun(saved, feeds)), undefined);
      });
    }
  },
);
