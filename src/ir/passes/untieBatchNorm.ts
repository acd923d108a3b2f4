import type { Graph, Node, Value } from '../graph.js';
import { Tensor } from '../tensor.js';

// PyTorch's exporter (torch.onnx, eval mode with BatchNorm kept) merges initializers of equal value: a fresh BN's
// running_var (ones) and running_mean (zeros) become `Identity(bn.weight)` / `Identity(bn.bias)`, or one initializer
// read by several slots. Frozen, that computes the same; trained, the statistics would follow the scale and shift (and
// the export would write them so). Give every BatchNormalization statistic its own initializer with the values it has
// now, named as the exporter named it. Returns the statistics untied.
export function untieBatchNormStatistics(g: Graph): string[] {
  const untied: string[] = [];
  for (const n of g.nodes.filter((x) => x.opType === 'BatchNormalization' && x.domain === '')) {
    for (const i of [3, 4]) {
      const v = n.inputs[i];
      if (!v) continue;
      const p = v.producer;
      if (p && p.opType === 'Identity' && p.domain === '' && p.outputs.length === 1 && isInitializer(g, p.inputs[0])) {
        g.removeNode(p);
        v.constant = copyOf(p.inputs[0]!.constant!);
        v.type = { dtype: v.constant.dtype, shape: [...v.constant.dims] };
        g.initializers.push(v);
        untied.push(v.name);
      } else if (isInitializer(g, v) && v.uses.some((u) => u.node !== n || u.index !== i)) {
        const own = g.newValue(`${v.name}.${i === 3 ? 'running_mean' : 'running_var'}`);
        own.constant = copyOf(v.constant!);
        own.type = { dtype: own.constant.dtype, shape: [...own.constant.dims] };
        g.initializers.push(own);
        g.setInput(n as Node, i, own);
        untied.push(own.name);
      }
    }
  }
  return untied;
}

function isInitializer(g: Graph, v: Value | undefined): boolean {
  return !!v?.constant && g.initializers.includes(v);
}

function copyOf(t: Tensor): Tensor {
  return new Tensor(t.dtype, t.dims, t.data.slice());
}
