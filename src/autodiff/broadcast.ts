import type { Builder } from '../ir/builder.js';
import type { Value } from '../ir/graph.js';

// Undo numpy broadcasting: sum a gradient of the broadcast shape back to the input's shape.
export function unbroadcast(b: Builder, g: Value, inShape: readonly number[]): Value {
  const gs = g.shape;
  if (gs.length === inShape.length && gs.every((d, i) => d === inShape[i])) return g;
  const lead = gs.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < gs.length; i++) {
    if (i < lead || (inShape[i - lead] === 1 && gs[i] !== 1)) axes.push(i);
  }
  const summed = b.reduceSum(g, axes, true);
  return summed.shape.length === inShape.length && summed.shape.every((d, i) => d === inShape[i])
    ? summed
    : b.reshape(summed, [...inShape]);
}
