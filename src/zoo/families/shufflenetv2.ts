import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// ShuffleNet V2 of HobbitLong/RepDistiller models/ShuffleNetv2.py: channel split, 1×1 → depthwise 3×3 → 1×1 on one
// half, concat and shuffle (g = 2); down blocks run both branches at stride 2. PyTorch's default init.
const REF = 'HobbitLong/RepDistiller models/ShuffleNetv2.py';
const init = 'torch-default' as const;

const CONFIGS: Record<string, { out: [number, number, number, number]; blocks: [number, number, number] }> = {
  shufflev2: { out: [116, 232, 464, 1024], blocks: [3, 7, 3] },
  'shufflev2-0.5': { out: [48, 96, 192, 1024], blocks: [3, 7, 3] },
};

function basicBlock(net: Net, x: Value, name: string): Value {
  const c = net.channels(x);
  const half = Math.trunc(c * 0.5);
  const [x1, x2] = net.b.node('Split', [x, Tensor.int64([2], [half, c - half])], { axis: 1 }, { outputs: 2 }) as [
    Value,
    Value,
  ];
  let y = net.convBn(x2, `${name}.conv1`, `${name}.bn1`, { k: 1, out: half, pad: 0, init });
  y = net.convBn(y, `${name}.conv2`, `${name}.bn2`, { k: 3, out: half, groups: half, init }, false);
  y = net.convBn(y, `${name}.conv3`, `${name}.bn3`, { k: 1, out: half, pad: 0, init });
  return net.shuffle(net.b.op.Concat!([x1, y], { axis: 1 }), 2);
}

function downBlock(net: Net, x: Value, name: string, out: number): Value {
  const inp = net.channels(x);
  const mid = Math.trunc(out / 2);
  let left = net.convBn(x, `${name}.conv1`, `${name}.bn1`, { k: 3, out: inp, stride: 2, groups: inp, init }, false);
  left = net.convBn(left, `${name}.conv2`, `${name}.bn2`, { k: 1, out: mid, pad: 0, init });
  let right = net.convBn(x, `${name}.conv3`, `${name}.bn3`, { k: 1, out: mid, pad: 0, init });
  right = net.convBn(right, `${name}.conv4`, `${name}.bn4`, { k: 3, out: mid, stride: 2, groups: mid, init }, false);
  right = net.convBn(right, `${name}.conv5`, `${name}.bn5`, { k: 1, out: mid, pad: 0, init });
  return net.shuffle(net.b.op.Concat!([left, right], { axis: 1 }), 2);
}

function buildShuffleV2(name: string, opts: ZooOptions) {
  const net = new Net(name, opts);
  const cfg = CONFIGS[name]!;
  const f0 = net.convBn(net.input, 'conv1', 'bn1', { k: 1, out: 24, pad: 0, init });
  let x = f0;
  const stages: Value[] = [];
  for (let s = 0; s < 3; s++) {
    x = downBlock(net, x, `layer${s + 1}.0`, cfg.out[s]!);
    for (let i = 0; i < cfg.blocks[s]!; i++) x = basicBlock(net, x, `layer${s + 1}.${i + 1}`);
    stages.push(x);
  }
  const top = net.convBn(x, 'conv2', 'bn2', { k: 1, out: cfg.out[3], pad: 0, init });
  const emb = net.pool(top);
  const logits = net.classifier(emb, 'linear', 'torch-default');
  return net.finish(logits, { f0, f1: stages[0]!, f2: stages[1]!, f3: stages[2]!, f4: emb, embedding: emb });
}

// RepDistiller's ShuffleV2 (net size 1) and the 0.5× size of the same file's config table.
export const models: ZooEntry[] = Object.keys(CONFIGS).map((name) => ({
  name,
  family: 'shufflenetv2',
  reference: REF,
  describe: `ShuffleNet V2 ${name === 'shufflev2' ? '1.0×' : '0.5×'}, CIFAR stem`,
  build: (o: ZooOptions) => buildShuffleV2(name, o),
}));
