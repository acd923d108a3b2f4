import type { Graph, Node } from '../../ir/graph.js';
import { Node as IrNode } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';

const EPS = 1e-5;

// A graph exported in eval mode with BatchNorm folded into its convs (no BatchNormalization nodes, convs with bias).
export function looksFolded(g: Graph): boolean {
  return (
    !g.nodes.some((n) => n.opType === 'BatchNormalization') && g.nodes.some((n) => n.opType === 'Conv' && !!n.inputs[2])
  );
}

function filled(c: number, v: number): Tensor {
  const t = Tensor.float32([c]);
  (t.data as Float32Array).fill(v);
  return t;
}

// Give each biased conv of a folded export its BatchNorm back, so the student trains like the original network:
// gamma 1, beta = the conv bias, mean 0, var 1 - eps (so BN is exactly y + beta), and the conv loses its bias.
// Returns the new BatchNorm nodes (their gamma carries no importance: it was folded into the conv weights).
export function restoreBatchNorm(g: Graph): Set<Node> {
  const added = new Set<Node>();
  for (const conv of g.nodes.filter((n) => n.opType === 'Conv' && n.inputs[2]?.constant)) {
    const bias = conv.inputs[2]!;
    const y = conv.outputs[0]!;
    const c = bias.constant!.size;
    const base = g.uniqueName(
      `${conv
        .input(1)
        .name.replace(/\.weight$/, '')
        .replace(/^onnx::/, '')}.bn`,
    );
    const pre = g.newValue(`${y.name}_prebn`, y.type ? { ...y.type } : undefined);
    conv.outputs[0] = pre;
    pre.producer = conv;
    y.producer = undefined;
    const beta = g.addInitializer(
      g.uniqueName(`${base}.bias`),
      new Tensor('float32', [c], Float32Array.from(bias.constant!.data as Float32Array)),
    );
    g.setInput(conv, 2, undefined);
    conv.inputs.length = 2;
    if (bias.uses.length === 0) g.initializers = g.initializers.filter((v) => v !== bias);
    const bn = new IrNode('BatchNormalization', base, '');
    bn.attributes.set('epsilon', { kind: 'float', value: EPS });
    bn.attributes.set('momentum', { kind: 'float', value: 0.9 });
    const ins = [
      pre,
      g.addInitializer(g.uniqueName(`${base}.weight`), filled(c, 1)),
      beta,
      g.addInitializer(g.uniqueName(`${base}.running_mean`), filled(c, 0)),
      g.addInitializer(g.uniqueName(`${base}.running_var`), filled(c, 1 - EPS)),
    ];
    g.addNode(bn, ins, [y]);
    added.add(bn);
  }
  return added;
}
