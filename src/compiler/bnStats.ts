import { Builder } from '../ir/builder.js';
import { Graph, type Value } from '../ir/graph.js';
import { classifierIO } from '../ir/classifier.js';
import { Model, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { Tensor } from '../ir/tensor.js';
import { expandTrainingBatchNorm, toTrainingBatchNorm } from './bnTrain.js';
import { placeNetworks, type NetworkSpec } from './network.js';
import { TRAIN_OPSET } from './opset.js';

// A graph that measures the batch statistics of every BatchNorm of the trainable networks, on the trained weights
// (baked in), in training mode (each BN normalises with its batch's statistics, as PyTorch's train() does): per
// running-statistic state name `s`, outputs `mean:s` (the batch mean) and `var:s` (the unbiased batch variance, what
// PyTorch's running_var averages). Averaged over batches on the host, these are PyTorch's re-estimated statistics
// after reset_running_stats() with momentum=None. Frozen networks are placed only where a trainable one reads them.
export function compileBnStatistics(
  networks: NetworkSpec[],
  batch: number,
  weights: Record<string, Float32Array>,
): { bytes: Uint8Array; stats: { mean: string; var: string }[] } {
  const g = new Graph('bn_statistics');
  const order = networks.filter((n) => n.trainable || networks.some((m) => m.input?.network === n.name));
  const dims = classifierIO(order[0]!.model.graph).shape ?? [];
  const x = g.value('input', { dtype: 'float32', shape: [batch, ...dims.slice(1)] });
  g.inputs.push(x);
  const placed = placeNetworks(g, x, order, { mode: 'train', batch });
  const learned = placed.flatMap((p) => [...p.params, ...p.buffers]);
  for (const v of learned) {
    const w = weights[v.name];
    if (!w) throw new Error(`no trained value for '${v.name}'`);
    v.constant = new Tensor('float32', v.constant!.dims, w);
  }
  const buffers = new Set(placed.flatMap((p) => p.buffers));
  const bns = toTrainingBatchNorm(g, (n) => !!n.inputs[3] && buffers.has(n.inputs[3]));
  const b = new Builder(g, 'bnstats');
  const outputs: Value[] = [];
  const stats = bns.map((bn) => {
    // Momentum 0 in ONNX's convention: the "new" running statistics are the batch's own.
    bn.node.attributes.set('momentum', { kind: 'float', value: 0 });
    outputs.push(
      b.identity(bn.newMean, `mean:${bn.runningMean.name}`),
      b.identity(bn.newVar, `var:${bn.runningVar.name}`),
    );
    return { mean: bn.runningMean.name, var: bn.runningVar.name };
  });
  expandTrainingBatchNorm(g);
  g.outputs = outputs;
  eliminateDeadCode(g);
  return { bytes: serializeModel(new Model(g, new Map([['', TRAIN_OPSET]]))).onnx, stats };
}
