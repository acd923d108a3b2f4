import { Builder } from '../ir/builder.js';
import { Graph, Node, type Value } from '../ir/graph.js';
import { topoSort } from '../ir/passes/toposort.js';
import { PSEUDO_DOMAIN, reduceNHW } from '../autodiff/pseudo.js';

// A BatchNormalization turned into training form, with the running-stat updates it produces.
export interface TrainBN {
  node: Node;
  runningMean: Value;
  runningVar: Value;
  newMean: Value;
  newVar: Value;
}

// Replace each BatchNormalization (inference or training_mode export) by the BatchNormTrain pseudo-op, whose outputs
// are y, the new running mean and variance, the centred input x - mean and invstd [1, C, 1, ...]: batch statistics forward, running stats updated as PyTorch does (unbiased variance, ONNX momentum semantics).
export function toTrainingBatchNorm(g: Graph, only?: (n: Node) => boolean): TrainBN[] {
  const out: TrainBN[] = [];
  for (const n of [...g.nodes]) {
    if (n.opType !== 'BatchNormalization' || n.domain !== '' || (only && !only(n))) continue;
    const [x, scale, bias, mean, vr] = [0, 1, 2, 3, 4].map((i) => n.input(i));
    const eps = n.attrFloat('epsilon', 1e-5);
    const momentum = n.attrFloat('momentum', 0.9);
    const y = n.outputs[0]!;
    const extra = n.outputs.slice(1);
    g.removeNode(n);
    const bn = new Node('BatchNormTrain', n.name, PSEUDO_DOMAIN);
    bn.attributes.set('epsilon', { kind: 'float', value: eps });
    bn.attributes.set('momentum', { kind: 'float', value: momentum });
    const c = scale!.shape;
    const newMean = g.newValue(`${mean!.name}.new`, { dtype: 'float32', shape: [...c] });
    const newVar = g.newValue(`${vr!.name}.new`, { dtype: 'float32', shape: [...c] });
    const xc = g.newValue(`${n.name}/xc`, { dtype: 'float32', shape: [...x!.shape] });
    const bshape = x!.shape.map((d, i) => (i === 1 ? d : 1));
    const invstd = g.newValue(`${n.name}/invstd`, { dtype: 'float32', shape: bshape });
    g.addNode(bn, [x, scale, bias, mean, vr], [y, newMean, newVar, xc, invstd]);
    // A training-mode export's extra outputs (running stats) now come from the update.
    if (extra[0]) g.replaceAllUses(extra[0], newMean);
    if (extra[1]) g.replaceAllUses(extra[1], newVar);
    out.push({ node: bn, runningMean: mean!, runningVar: vr!, newMean, newVar });
  }
  topoSort(g);
  return out;
}

// Lower every BatchNormTrain pseudo-op to standard ONNX ops (after autodiff has used its fused gradient rule).
export function expandTrainingBatchNorm(g: Graph): void {
  for (const n of [...g.nodes]) {
    if (n.opType !== 'BatchNormTrain' || n.domain !== PSEUDO_DOMAIN) continue;
    const b = new Builder(g, n.name);
    const [x, scale, bias, rm, rv] = [0, 1, 2, 3, 4].map((i) => n.input(i));
    const eps = n.attrFloat('epsilon');
    const mom = n.attrFloat('momentum');
    const count = x!.shape.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
    // Two full-size passes: the centring Sub (its output is kept for the backward) and one BatchNormalization in
    // inference form on the batch statistics; the variance's squares are summed inside ReduceSumSquare.
    const mean = reduceNHW(b, x!, 'ReduceMean');
    const xc = b.sub(x!, mean);
    const vr = b.mul(reduceNHW(b, xc, 'ReduceSumSquare'), 1 / count);
    const invstd = b.op.Reciprocal!([b.op.Sqrt!([b.add(vr, eps)])]);
    const flat = (v: Value) => b.reshape(v, [scale!.shape[0]!]);
    const y = b.op.BatchNormalization!([x!, scale!, bias!, flat(mean), flat(vr)], { epsilon: eps });
    const c = [scale!.shape[0]!];
    const newMean = b.add(b.mul(rm!, mom), b.mul(b.reshape(mean, c), 1 - mom));
    const unbiased = count > 1 ? count / (count - 1) : 1;
    const newVar = b.add(b.mul(rv!, mom), b.mul(b.reshape(vr, c), unbiased * (1 - mom)));
    const repl = [y, newMean, newVar, xc, invstd];
    const outs = [...n.outputs];
    g.removeNode(n);
    outs.forEach((o, i) => g.replaceAllUses(o, repl[i]!));
  }
  topoSort(g);
}
