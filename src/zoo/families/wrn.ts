import type { Value } from '../../ir/graph.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// Wide ResNets of HobbitLong/RepDistiller models/wrn.py: pre-activation blocks (BN-ReLU-conv), 1×1 conv shortcut
// when widths differ, final BN-ReLU before pooling, convs N(0, √(2/(k·k·C_out))), Linear bias zeroed.
const REF = 'HobbitLong/RepDistiller models/wrn.py';

function block(net: Net, x: Value, name: string, out: number, stride: number): Value {
  const equal = net.channels(x) === out;
  const act = net.relu(net.bn(x, `${name}.bn1`));
  let y = net.conv(act, `${name}.conv1`, { k: 3, out, stride, init: 'kaiming-fan-out' });
  y = net.relu(net.bn(y, `${name}.bn2`));
  y = net.conv(y, `${name}.conv2`, { k: 3, out, init: 'kaiming-fan-out' });
  const short = equal
    ? x
    : net.conv(act, `${name}.convShortcut`, { k: 1, out, stride, pad: 0, init: 'kaiming-fan-out' });
  return net.b.add(short, y);
}

function buildWrn(name: string, depth: number, widths: number[], opts: ZooOptions) {
  const net = new Net(name, opts);
  const n = (depth - 4) / 6;
  const f0 = net.conv(net.input, 'conv1', { k: 3, out: widths[0]!, init: 'kaiming-fan-out' });
  let x = f0;
  const stages: Value[] = [];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < n; i++) x = block(net, x, `block${s + 1}.layer.${i}`, widths[s + 1]!, i === 0 && s > 0 ? 2 : 1);
    stages.push(x);
  }
  const emb = net.pool(net.relu(net.bn(x, 'bn1')));
  const logits = net.classifier(emb, 'fc', 'torch-default-zero-bias');
  return net.finish(logits, { f0, f1: stages[0]!, f2: stages[1]!, f3: stages[2]!, f4: emb, embedding: emb });
}

// WRN-d with stem and stage widths; widening doubles all four (the stem too, so it is not WRN-d-2k).
function entry(name: string, depth: number, widths: number[], describe: string): ZooEntry {
  return {
    name,
    family: 'wrn',
    reference: REF,
    describe,
    build: (o: ZooOptions) => buildWrn(name, depth, widths, o),
    widen: () =>
      entry(
        `${name}-x2`,
        depth,
        widths.map((w) => 2 * w),
        `Wide ResNet depth ${depth}, widths ${widths.map((w) => 2 * w).join('/')}`,
      ),
  };
}

// WRN-d-k as RepDistiller names them (wrn_16_1 … wrn_40_2).
export const models: ZooEntry[] = (
  [
    [16, 1],
    [16, 2],
    [40, 1],
    [40, 2],
  ] as const
).map(([d, k]) => entry(`wrn-${d}-${k}`, d, [16, 16 * k, 32 * k, 64 * k], `Wide ResNet depth ${d}, widen factor ${k}`));
