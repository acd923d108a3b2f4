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

const NAMED: Record<number, { name: string; note: string }> = {
  16: { name: 'cnn', note: '' },
  32: { name: 'cnn-wide', note: ' (the shipped teacher)' },
  8: { name: 'cnn-tiny', note: '' },
};

// A CNN of first width w (then 2w, 4w, 8w); doubling gives the next named one (cnn-tiny → cnn → cnn-wide → cnn-x16...).
function entry(w: number): ZooEntry {
  const widths = [w, 2 * w, 4 * w, 8 * w];
  const named = NAMED[w];
  const name = named?.name ?? `cnn-x${w}`;
  return {
    name,
    family: 'cnn',
    reference: 'ours',
    describe: `plain CNN, ${widths.join('/')} channels${named?.note ?? ''}`,
    build: (o) => buildCnn(name, widths, o),
    widen: () => entry(2 * w),
  };
}

// Plain CNNs for quick runs and tests.
export const models: ZooEntry[] = [entry(16), entry(32), entry(8)];
