import type { Node, ValueType } from '../graph.js';

// A shape-inference rule: output types of a node from its inputs' types (and constant inputs).
export type ShapeRule = (node: Node) => (ValueType | undefined)[];

// Static shape of input i, or undefined when unknown or symbolic.
export function staticShape(node: Node, i: number): number[] | undefined {
  const v = node.inputs[i];
  const s = v?.type?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

// Constant integer values of input i (e.g. Reshape's shape), or undefined.
export function constInts(node: Node, i: number): number[] | undefined {
  const c = node.inputs[i]?.constant;
  return c ? c.toNumbers() : undefined;
}

// Numpy broadcasting of two static shapes; throws naming the node when incompatible.
export function broadcastShapes(a: readonly number[], b: readonly number[], node?: Node): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(
        `${node ? node.label + ': ' : ''}shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

// Normalise a possibly negative axis against a rank.
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

// Type of input i with a replaced shape.
export function like(node: Node, i: number, shape: number[] | undefined): ValueType | undefined {
  const t = node.inputs[i]?.type;
  if (!t) return undefined;
  return shape ? { dtype: t.dtype, shape } : { dtype: t.dtype };
}
