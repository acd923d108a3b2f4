import type { Builder } from '../ir/builder.js';
import type { Node, Value } from '../ir/graph.js';
import { reduceAxes } from '../ir/shapes/tensorOps.js';

// What every reduction's gradient starts from: its input, the reduced axes, and dy / y brought back to keepdims shape.
export interface ReducedView {
  x: Value;
  axes: number[];
  // dy with the reduced axes as size-1 dims, ready to broadcast against x.
  g: Value;
  // The forward output likewise.
  y: Value;
}

// Normalise a reduction node's incoming gradient (and output) to keepdims form.
export function reducedView(b: Builder, node: Node, dy: Value): ReducedView {
  const x = node.input(0);
  const axes = reduceAxes(node, x.rank);
  const keepdims = node.attrInt('keepdims', 1) === 1;
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = node.outputs[0]!;
  return { x, axes, g: keepdims ? dy : b.reshape(dy, keep), y: keepdims ? out : b.reshape(out, keep) };
}
