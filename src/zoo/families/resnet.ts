import type { Value } from '../../ir/graph.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// CIFAR ResNets of HobbitLong/RepDistiller models/resnet.py: 3×3 stem, three stages of BasicBlocks (6n+2 layers),
// 1×1 conv + BN shortcut where shape changes, kaiming_normal fan_out convs, default-init Linear.
const REF = 'HobbitLong/RepDistiller models/resnet.py';

function basicBlock(net: Net, x: Value, name: string, planes: number, stride: number): Value {
  const spec = { k: 3, out: planes, init: 'kaiming-fan-out' as const };
  let out = net.convBn(x, `${name}.conv1`, `${name}.bn1`, { ...spec, stride });
  out = net.convBn(out, `${name}.conv2`, `${name}.bn2`, spec, false);
  let residual = x;
  if (stride !== 1 || net.channels(x) !== planes) {
    const ds = net.conv(x, `${name}.downsample.0`, { k: 1, out: planes, stride, pad: 0, init: 'kaiming-fan-out' });
    residual = net.bn(ds, `${name}.downsample.1`);
  }
  return net.relu(net.b.add(out, residual));
}

function buildResnet(name: string, depth: number, filters: [number, number, number, number], opts: ZooOptions) {
  const net = new Net(name, opts);
  const n = (depth - 2) / 6;
  const f0 = net.convBn(net.input, 'conv1', 'bn1', { k: 3, out: filters[0], init: 'kaiming-fan-out' });
  let x = f0;
  const stages: Value[] = [];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < n; i++) x = basicBlock(net, x, `layer${s + 1}.${i}`, filters[s + 1]!, i === 0 && s > 0 ? 2 : 1);
    stages.push(x);
  }
  const emb = net.pool(x);
  const logits = net.classifier(emb, 'fc', 'torch-default');
  return net.finish(logits, { f0, f1: stages[0]!, f2: stages[1]!, f3: stages[2]!, f4: emb, embedding: emb });
}

const THIN: [number, number, number, number] = [16, 16, 32, 64];
const X4: [number, number, number, number] = [32, 64, 128, 256];

function entry(name: string, depth: number, filters: [number, number, number, number]): ZooEntry {
  return {
    name,
    family: 'resnet',
    reference: REF,
    describe: `CIFAR ResNet-${depth}, stage widths ${filters.slice(1).join('/')}`,
    build: (o) => buildResnet(name, depth, filters, o),
    widen: () => entry(`${name}-x2`, depth, filters.map((f) => 2 * f) as [number, number, number, number]),
  };
}

// The CIFAR ResNets RepDistiller distils between (resnet8 … resnet110, resnet8x4, resnet32x4).
export const models: ZooEntry[] = [
  ...[8, 14, 20, 32, 44, 56, 110].map((d) => entry(`resnet${d}`, d, THIN)),
  entry('resnet8x4', 8, X4),
  entry('resnet32x4', 32, X4),
];
