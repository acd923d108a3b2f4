import type { Graph } from '../ir/graph.js';
import { UserError } from '../util/errors.js';
import { toInferenceBatchNorm } from '../ir/params.js';

// Make a network's graph a deterministic inference graph, the one place every written model and every frozen network
// passes through: BatchNorm reads its running statistics, Dropout (a training-mode export keeps training_mode=True,
// which onnxruntime honours with its optimiser off, and onnxruntime-web always) becomes Identity, and Bernoulli (a
// stochastic-depth mask) becomes its expectation, its probability input. A random op left over is refused by name.
export function toInferenceForm(g: Graph): void {
  toInferenceBatchNorm(g);
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    if (n.opType === 'Dropout' || n.opType === 'Bernoulli') {
      for (const extra of n.outputs.slice(1)) {
        if (extra.uses.length || g.outputs.includes(extra))
          throw new UserError(
            `${n.label}: its mask output '${extra.name}' is used by the model; cannot make it an inference graph`,
          );
        extra.producer = undefined;
      }
      n.outputs.length = 1;
      for (let i = n.inputs.length - 1; i > 0; i--) g.setInput(n, i, undefined);
      n.inputs.length = 1;
      n.opType = 'Identity';
      n.attributes.clear();
      n.proto = undefined;
    } else if (/^Random(Normal|Uniform)(Like)?$|^Multinomial$/.test(n.opType)) {
      throw new UserError(
        `${n.label}: a random op in the forward graph makes predictions random; export the model in eval mode (model.eval()) or without it`,
      );
    }
  }
}
