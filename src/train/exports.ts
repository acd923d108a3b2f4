import { join } from 'node:path';
import { compileInference } from '../compiler/inference.js';
import { TRAIN_OPSET } from '../compiler/opset.js';
import type { CompiledStep } from '../compiler/step.js';
import { Model, saveModel } from '../ir/model.js';
import type { TensorData } from '../runtime/tensor.js';
import { exportTrained } from './inference.js';
import type { RunOptions } from './types.js';
import { META_ENSEMBLE, setClassifierMetadata } from '../ir/metadata.js';

// Write each trained network as a deployable ONNX (weights baked, BatchNorm in inference form) and the ensemble.
export function exportNetworks(
  o: RunOptions,
  step: CompiledStep,
  state: Record<string, TensorData>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = [...step.params, ...step.buffers];
  const tag = (m: Model, own?: Record<string, string>) => {
    for (const [k, v] of Object.entries({ ...o.exports.metadata, ...own })) m.setMetadata(k, v);
    return m;
  };
  for (const [name, file] of Object.entries(o.exports.files)) {
    const net = o.networks.find((n) => n.name === name);
    if (!net) throw new Error(`export of unknown network '${name}'`);
    const bySource = Object.fromEntries(
      entries.filter((e) => e.network === name).map((e) => [e.source, state[e.name]!]),
    );
    const path = join(o.outDir, file);
    const own = o.exports.networkMetadata?.[name]?.(bySource);
    saveModel(tag(exportTrained(net.model, bySource, o.classes, o.exports.preprocess), own), path);
    out[name] = path;
  }
  const weights = Object.fromEntries(entries.map((e) => [e.name, state[e.name]!.data as Float32Array]));
  const finish = (m: Model) => {
    setClassifierMetadata(m, o.classes, o.exports.preprocess);
    return tag(m);
  };
  for (const [name, file] of Object.entries(o.exports.composed ?? {})) {
    const net = o.networks.find((n) => n.name === name);
    if (!net) throw new Error(`export of unknown network '${name}'`);
    const { graph } = compileInference([net], {
      feeders: o.networks.filter((n) => n !== net),
      weights,
      plainOutput: true,
    });
    const path = join(o.outDir, file);
    saveModel(finish(new Model(graph, new Map([['', TRAIN_OPSET]]))), path);
    out[`${name}+feeders`] = path;
  }
  if (o.exports.ensembleFile && o.ensemble && o.ensemble.length >= 2) {
    const members = o.ensemble.map((n) => o.networks.find((x) => x.name === n)!);
    const { graph } = compileInference(members, { ensemble: o.ensemble, weights, ensembleOnly: true });
    const m = new Model(graph, new Map([['', TRAIN_OPSET]]));
    setClassifierMetadata(m, o.classes, o.exports.preprocess);
    m.setMetadata(META_ENSEMBLE, JSON.stringify(o.ensemble));
    const path = join(o.outDir, o.exports.ensembleFile);
    saveModel(tag(m), path);
    out.ensemble = path;
  }
  return out;
}
