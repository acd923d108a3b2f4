import type { Builder } from '../ir/builder.js';
import type { Node, Value } from '../ir/graph.js';

// What a gradient rule sees: the forward node, the gradients of its outputs, and which inputs need one.
export interface GradContext {
  // Builder for the gradient nodes (scoped under the forward node's name).
  b: Builder;
  node: Node;
  // Gradient of each output; undefined where no gradient flows (treat as zero).
  gradOut: (Value | undefined)[];
  // needs[i]: build a gradient for input i.
  needs: boolean[];
}

// A gradient rule: one entry per input, undefined where no gradient is needed or defined.
export type GradRule = (ctx: GradContext) => (Value | undefined)[];

// The export every file in rules/ provides: the op type(s) it differentiates and how.
export interface GradRuleDef {
  ops: string[];
  // Domain of the op ('' for the default ONNX domain).
  domain?: string;
  grad: GradRule;
}
