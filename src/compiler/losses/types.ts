import type { Builder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';

// What a loss term is wired to: tapped values by role (e.g. `logits`, `teacher.logits`, `student.f2`) and the labels.
export interface TermInputs {
  b: Builder;
  // One-hot labels [N, C] as float32.
  labels: Value;
  taps: Record<string, Value>;
  options: Record<string, number>;
}

// A loss term: one file per term in this folder, emitting its ONNX subgraph and returning a scalar.
export interface LossTermDef {
  name: string;
  describe: string;
  // Tap roles the term reads, e.g. ['logits'].
  reads: string[];
  defaults: Record<string, number>;
  build(inp: TermInputs): Value;
}
