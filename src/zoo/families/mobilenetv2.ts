import type { Value } from '../../ir/graph.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// MobileNetV2 of HobbitLong/RepDistiller models/mobilenetv2.py: stride-2 3×3 stem, inverted residuals (expand T,
// depthwise, linear projection), 1×1 conv to 1280, global pool, Linear. Convs N(0, √(2/(k·k·C_out))), Linear N(0, 0.01²).
// RepDistiller's "MobileNetV2" is `mobile_half` (T = 6, width 0.5).
const REF = 'HobbitLong/RepDistiller models/mobilenetv2.py';

// t (expansion), c (channels), n (repeats), s (first stride).
const SETTING: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 1],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function invertedResidual(net: Net, x: Value, name: string, out: number, stride: number, t: number): Value {
  const inp = net.channels(x);
  const hidden = inp * t;
  const init = 'kaiming-fan-out' as const;
  let y = net.convBn(x, `${name}.conv.0`, `${name}.conv.1`, { k: 1, out: hidden, pad: 0, init });
  y = net.convBn(y, `${name}.conv.3`, `${name}.conv.4`, { k: 3, out: hidden, stride, groups: hidden, init });
  y = net.convBn(y, `${name}.conv.6`, `${name}.conv.7`, { k: 1, out, pad: 0, init }, false);
  return stride === 1 && inp === out ? net.b.add(x, y) : y;
}

function buildMobilenetV2(name: string, widthMult: number, expand: number, opts: ZooOptions) {
  const net = new Net(name, opts);
  const init = 'kaiming-fan-out' as const;
  const f0 = net.convBn(net.input, 'conv1.0', 'conv1.1', { k: 3, out: Math.trunc(32 * widthMult), stride: 2, init });
  let x = f0;
  const ends: Value[] = [];
  SETTING.forEach(([t, c, n, s], bi) => {
    const out = Math.trunc(c * widthMult);
    for (let i = 0; i < n; i++)
      x = invertedResidual(net, x, `blocks.${bi}.${i}`, out, i === 0 ? s : 1, bi === 0 ? t : expand);
    ends.push(x);
  });
  const last = widthMult > 1 ? Math.trunc(1280 * widthMult) : 1280;
  const top = net.convBn(x, 'conv2.0', 'conv2.1', { k: 1, out: last, pad: 0, init });
  const emb = net.pool(top);
  const logits = net.classifier(emb, 'classifier.0', 'normal-0.01');
  return net.finish(logits, { f0, f1: ends[1]!, f2: ends[2]!, f3: ends[4]!, f4: ends[6]!, embedding: emb });
}

// MobileNetV2 at width 1.0 and RepDistiller's `mobile_half` (width 0.5).
export const models: ZooEntry[] = [
  {
    name: 'mobilenetv2',
    family: 'mobilenetv2',
    reference: REF,
    describe: 'MobileNetV2, expansion 6, width 1.0 (CIFAR stem)',
    build: (o) => buildMobilenetV2('mobilenetv2', 1, 6, o),
  },
  {
    name: 'mobile-half',
    family: 'mobilenetv2',
    reference: REF,
    describe: "MobileNetV2, expansion 6, width 0.5 (RepDistiller's MobileNetV2)",
    build: (o) => buildMobilenetV2('mobile-half', 0.5, 6, o),
  },
];
