import { Builder } from '../ir/builder.js';
import { Node, type Graph } from '../ir/graph.js';
import { topoSort } from '../ir/passes/toposort.js';
import { PSEUDO_DOMAIN } from '../autodiff/pseudo.js';

// SiLU as exported graphs hold it, Mul(x, Sigmoid(x)) (torch.onnx's nn.SiLU, EfficientNet's activations), turned into
// the Silu pseudo-op before autodiff: its rule recomputes the sigmoid, so the step keeps x alone for the backward, as
// PyTorch's SiLU does, instead of x and sigmoid(x). Only a sigmoid that feeds nothing else is taken. Returns the count.
export function toSilu(g: Graph): number {
  let count = 0;
  for (const mul of [...g.nodes]) {
    if (mul.opType !== 'Mul' || mul.domain !== '' || mul.inputs.length !== 2) continue;
    const k = [0, 1].find((i) => isSigmoidOf(g, mul, i));
    if (k === undefined) continue;
    const sig = mul.input(k).producer!;
    const x = sig.input(0);
    const y = mul.outputs[0]!;
    g.removeNode(mul);
    g.removeNode(sig);
    g.addNode(new Node('Silu', mul.name, PSEUDO_DOMAIN), [x], [y]);
    count++;
  }
  if (count) topoSort(g);
  return count;
}

// Input i of `mul` is Sigmoid(other input), used only there.
function isSigmoidOf(g: Graph, mul: Node, i: number): boolean {
  const s = mul.inputs[i];
  const p = s?.producer;
  return (
    !!s &&
    !!p &&
    p.opType === 'Sigmoid' &&
    p.domain === '' &&
    p.input(0) === mul.inputs[1 - i] &&
    s.uses.length === 1 &&
    !g.outputs.includes(s)
  );
}

// Lower every Silu pseudo-op back to Mul(x, Sigmoid(x)) (after autodiff has used its rule).
export function expandSilu(g: Graph): void {
  let any = false;
  for (const n of [...g.nodes]) {
    if (n.opType !== 'Silu' || n.domain !== PSEUDO_DOMAIN) continue;
    const b = new Builder(g, n.name);
    const x = n.input(0);
    const y = b.mul(x, b.op.Sigmoid!([x]));
    const out = n.outputs[0]!;
    g.removeNode(n);
    g.replaceAllUses(out, y);
    any = true;
  }
  if (any) topoSort(g);
}
