import type { Value } from '../../ir/graph.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// ShuffleNet V1 of HobbitLong/RepDistiller models/ShuffleNetv1.py (g = 3, widths 240/480/960, blocks 4/8/4):
// grouped 1×1 conv → channel shuffle → depthwise 3×3 → grouped 1×1; stride-2 blocks concatenate a 3×3 avg-pooled
// shortcut, others add it. No explicit init in the reference: PyTorch's default Conv/Linear init.
const REF = 'HobbitLong/RepDistiller models/ShuffleNetv1.py';
const init = 'torch-default' as const;

function bottleneck(net: Net, x: Value, name: string, out: number, stride: number, groups: number): Value {
  const inp = net.channels(x);
  const mid = Math.trunc(out / 4);
  const g = inp === 24 ? 1 : groups;
  let y = net.convBn(x, `${name}.conv1`, `${name}.bn1`, { k: 1, out: mid, pad: 0, groups: g, init });
  if (g > 1) y = net.shuffle(y, g);
  y = net.convBn(y, `${name}.conv2`, `${name}.bn2`, { k: 3, out: mid, stride, groups: mid, init });
  y = net.convBn(y, `${name}.conv3`, `${name}.bn3`, { k: 1, out, pad: 0, groups, init }, false);
  const joined = stride === 2 ? net.b.op.Concat!([y, net.avgPool(x, 3, 2, 1)], { axis: 1 }) : net.b.add(y, x);
  return net.relu(joined);
}

function buildShuffleV1(name: string, opts: ZooOptions) {
  const net = new Net(name, opts);
  const planes = [240, 480, 960];
  const blocks = [4, 8, 4];
  const groups = 3;
  const f0 = net.convBn(net.input, 'conv1', 'bn1', { k: 1, out: 24, pad: 0, init });
  let x = f0;
  const stages: Value[] = [];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < blocks[s]!; i++) {
      const out = planes[s]! - (i === 0 ? net.channels(x) : 0);
      x = bottleneck(net, x, `layer${s + 1}.${i}`, out, i === 0 ? 2 : 1, groups);
    }
    stages.push(x);
  }
  const emb = net.pool(x);
  const logits = net.classifier(emb, 'linear', 'torch-default');
  return net.finish(logits, { f0, f1: stages[0]!, f2: stages[1]!, f3: stages[2]!, f4: emb, embedding: emb });
}

// RepDistiller's ShuffleV1.
export const models: ZooEntry[] = [
  {
    name: 'shufflev1',
    family: 'shufflenetv1',
    reference: REF,
    describe: 'ShuffleNet V1, g = 3, CIFAR stem',
    build: (o) => buildShuffleV1('shufflev1', o),
  },
];
