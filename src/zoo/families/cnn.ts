import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';

// A small plain CNN (ours, no reference code): four conv-BN-ReLU stages of 16/32/64/128 channels with 2×2 max pools
// between the last three, global average pool, Linear. Fast enough for MNIST-sized smoke runs; kaiming fan_out init.
function buildCnn(name: string, widths: number[], opts: ZooOptions) {
  const net = new Net(name, opts);
  const init = 'kaiming-fan-out' as const;
  const f0 = net.convBn(net.input, 'conv0', 'bn0', { k: 3, out: widths[0]!, init });
  const f1 = net.convBn(net.maxPool(f0, 2, 2), 'conv1', 'bn1', { k: 3, out: widths[1]!, init });
  const f2 = net.convBn(net.maxPool(f1, 2, 2), 'conv2', 'bn2', { k: 3, out: widths[2]!, init });
  const f3 = net.convBn(net.maxPool(f2, 2, 2), 'conv3', 'bn3', { k: 3, out: widths[3]!, init });
  const emb = net.pool(f3);
  const logits = net.classifier(emb, 'fc', 'torch-default');
  return net.finish(logits, { f0, f1, f2, f3, f4: emb, embedding: emb });
}

// Plain CNNs for quick runs and tests.
export const models: ZooEntry[] = [
  { name: 'cnn', family: 'cnn', reference: 'ours', describe: 'plain CNN, 16/32/64/128 channels', build: (o) => buildCnn('cnn', [16, 32, 64, 128], o) },
  { name: 'cnn-wide', family: 'cnn', reference: 'ours', describe: 'plain CNN, 32/64/128/256 channels (the shipped teacher)', build: (o) => buildCnn('cnn-wide', [32, 64, 128, 256], o) },
  { name: 'cnn-tiny', family: 'cnn', reference: 'ours', describe: 'plain CNN, 8/16/32/64 channels', build: (o) => buildCnn('cnn-tiny', [8, 16, 32, 64], o) },
];
