import type { Value } from '../../ir/graph.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// VGG with BatchNorm of HobbitLong/RepDistiller models/vgg.py (its vgg8/11/13/16/19 are the `_bn` variants):
// five conv blocks, 2×2 max pools after blocks 0-2 (and 3 when the input is 64 px or more), adaptive avg pool,
// one Linear(512, classes). Convs have a bias (zeroed) and N(0, √(2/(k·k·C_out))) weights; Linear N(0, 0.01²).
const REF = 'HobbitLong/RepDistiller models/vgg.py';

const CFG: Record<string, number[][]> = {
  vgg8: [[64], [128], [256], [512], [512]],
  vgg11: [[64], [128], [256, 256], [512, 512], [512, 512]],
  vgg13: [
    [64, 64],
    [128, 128],
    [256, 256],
    [512, 512],
    [512, 512],
  ],
  vgg16: [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ],
  vgg19: [
    [64, 64],
    [128, 128],
    [256, 256, 256, 256],
    [512, 512, 512, 512],
    [512, 512, 512, 512],
  ],
};

// One block: conv-BN-ReLU repeated, the last ReLU applied by the caller (as the reference's forward does).
function block(net: Net, x: Value, name: string, widths: number[]): Value {
  let y = x;
  widths.forEach((w, i) => {
    y = net.bn(
      net.conv(y, `${name}.${3 * i}`, { k: 3, out: w, bias: true, init: 'kaiming-fan-out' }),
      `${name}.${3 * i + 1}`,
    );
    y = net.relu(y);
  });
  return y;
}

function buildVgg(name: string, cfg: number[][], opts: ZooOptions) {
  const net = new Net(name, opts);
  const feats: Value[] = [];
  let x = net.input;
  for (let i = 0; i < 5; i++) {
    x = block(net, x, `block${i}`, cfg[i]!);
    feats.push(x);
    if (i < 3 || (i === 3 && opts.height >= 64)) x = net.maxPool(x, 2, 2);
  }
  const emb = net.pool(x);
  const logits = net.classifier(emb, 'classifier', 'normal-0.01');
  return net.finish(logits, {
    f0: feats[0]!,
    f1: feats[1]!,
    f2: feats[2]!,
    f3: feats[3]!,
    f4: feats[4]!,
    embedding: emb,
  });
}

function entry(name: string, cfg: number[][], describe: string): ZooEntry {
  return {
    name,
    family: 'vgg',
    reference: REF,
    describe,
    build: (o: ZooOptions) => buildVgg(name, cfg, o),
    widen: () =>
      entry(
        `${name}-x2`,
        cfg.map((b) => b.map((w) => 2 * w)),
        `${describe}, every conv twice as wide`,
      ),
  };
}

// VGG-8/11/13/16/19 with BN (RepDistiller's vgg8 … vgg19).
export const models: ZooEntry[] = Object.entries(CFG).map(([name, cfg]) =>
  entry(name, cfg, `VGG-${name.slice(3)} with BatchNorm, CIFAR head (one Linear)`),
);
