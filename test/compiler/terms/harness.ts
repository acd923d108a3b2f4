// Builds one loss term on graph inputs (one per slot, the labels, and every auxiliary parameter) so the same wiring
// serves the finite-difference check and the PyTorch value check.
import { expandTrainingBatchNorm, toTrainingBatchNorm } from '../../../src/compiler/bnTrain.js';
import type { LossTermDef, ModuleBuilder } from '../../../src/compiler/terms/types.js';
import { addInput, Builder, Graph, Tensor, type Value } from '../../../src/ir/index.js';
import { Rng } from '../../../src/ir/init.js';
import type { CheckCase, CheckInput } from '../../autodiff/gradcheck.js';

// A term with the shapes of its slots; labels are one-hot [N, classes] (classes default: the student's dim 1).
export interface TermCase {
  term: LossTermDef;
  shapes: Record<string, number[]>;
  options?: Record<string, number>;
  classes?: number;
  seed?: number;
  // Values of the term's scheduled scalar inputs (CTKD's λ), fed as graph inputs `in.<key>`.
  inputs?: Record<string, number>;
  // Fixed values of some slots in finite-difference checks (random normal otherwise).
  values?: Record<string, number[]>;
  // Values of buffers (constants) instead of their initial ones (CRD's memory bank), and of per-batch int64 inputs.
  buffers?: Record<string, number[]>;
  batch?: Record<string, number[]>;
}

export interface BuiltTerm {
  graph: Graph;
  loss: Value;
  // Graph input names: the slots (in slot order), 'labels', then the parameters in creation order.
  slots: string[];
  params: { name: string; init: Tensor }[];
  // The term's stop-gradient marks, for the backward pass.
  stop: Set<Value>;
  // Buffers the term updates (module.carry): buffer name -> its value after the step.
  nexts: Record<string, Value>;
}

// The one-hot labels input a case gets: [N, classes].
export function labelShape(c: TermCase): number[] {
  const s = c.shapes[c.term.slots[0]!.name]!;
  return [s[0]!, c.classes ?? s[1]!];
}

// Call term.build with params taken from `param` (graph inputs), buffers as constants, scheduled inputs from `input`.
function wire(
  b: Builder,
  c: TermCase,
  taps: Record<string, Value>,
  labels: Value,
  param: (name: string, init: Tensor) => Value,
  input: (key: string) => Value,
  stop: Set<Value>,
  nexts: Record<string, Value> = {},
): Value {
  const options = { ...c.term.defaults, ...c.options };
  const names = new Map<Value, string>();
  const buffer = (name: string, init: Tensor) => {
    const given = c.buffers?.[name];
    // a named initializer, not b.constant: equal constants are shared, and two buffers must stay two values
    const v = b.graph.addInitializer(
      `${c.term.name}.buffer.${name}`,
      given ? Tensor.float32([...init.dims], given) : init,
    );
    names.set(v, name);
    return v;
  };
  const module: ModuleBuilder = {
    param,
    buffer,
    carry: (buf, next) => {
      nexts[names.get(buf)!] = next;
    },
    rng: new Rng(c.seed ?? 7),
  };
  const sg = (v: Value) => {
    const o = b.identity(v);
    stop.add(o);
    return o;
  };
  const batchInput = (key: string) => {
    const shape = c.term.batchInputs![key]!.shape(labels.shape[0]!, options);
    return b.constant(Tensor.int64(shape, c.batch![key]!));
  };
  const loss = c.term.build({ b, labels, taps, options, module, stop: sg, input, batchInput });
  // As the compiler does for trainable parts: BN nodes become training-mode (batch statistics) before autodiff.
  if (b.graph.nodes.some((n) => n.opType === 'BatchNormalization')) toTrainingBatchNorm(b.graph);
  return loss;
}

// The term as a graph of its own: inputs for slots, labels and params; the loss is output 'loss'.
export function buildTermGraph(c: TermCase): BuiltTerm {
  const graph = new Graph(`term_${c.term.name}`);
  const b = new Builder(graph);
  const slots = c.term.slots.map((s) => s.name);
  const taps = Object.fromEntries(slots.map((s) => [s, addInput(graph, s, 'float32', c.shapes[s]!)]));
  const labels = addInput(graph, 'labels', 'float32', labelShape(c));
  const params: BuiltTerm['params'] = [];
  const stop = new Set<Value>();
  const nexts: Record<string, Value> = {};
  const loss = wire(
    b,
    c,
    taps,
    labels,
    (name, init) => {
      params.push({ name, init });
      return addInput(graph, name, 'float32', [...init.dims]);
    },
    (key) => addInput(graph, `in.${key}`, 'float32', []),
    stop,
    nexts,
  );
  return { graph, loss, slots, params, stop, nexts };
}

// Forward-only form for running: lower the training BatchNorm pseudo-ops to standard ops.
export function lowerForRun(g: Graph): void {
  expandTrainingBatchNorm(g);
}

// A gradcheck case: every non-target slot and every parameter is checked; targets and labels are constants.
// `scale` multiplies the loss so small terms (SP, AT) have gradients well above gradcheck's atol.
export function termCheckCase(c: TermCase, labels: number[], scale = 1, extra: Partial<CheckCase> = {}): CheckCase {
  const { params } = buildTermGraph(c);
  const slotInputs: CheckInput[] = c.term.slots.map((s) => ({
    name: s.name,
    shape: c.shapes[s.name]!,
    grad: !s.target,
    ...(c.values?.[s.name] ? { values: c.values[s.name] } : {}),
  }));
  const [n, k] = labelShape(c);
  const onehot = Array.from({ length: n! * k! }, (_, i) => (labels[Math.floor(i / k!)] === i % k! ? 1 : 0));
  const inputs: CheckInput[] = [
    ...slotInputs,
    { name: 'labels', shape: [n!, k!], grad: false, values: onehot },
    ...params.map((p) => ({ name: p.name, shape: [...p.init.dims], values: Array.from(p.init.data as Float32Array) })),
    ...Object.entries(c.inputs ?? {}).map(([k, v]) => ({ name: `in.${k}`, shape: [], grad: false, values: [v] })),
  ];
  const stop = new Set<Value>();
  return {
    inputs,
    build: (b, ins) => {
      const by = new Map(ins.map((v) => [v.name, v]));
      const taps = Object.fromEntries(c.term.slots.map((s) => [s.name, by.get(s.name)!]));
      const loss = wire(
        b,
        c,
        taps,
        by.get('labels')!,
        (name) => by.get(name)!,
        (key) => by.get(`in.${key}`)!,
        stop,
      );
      return scale === 1 ? loss : b.mul(loss, scale);
    },
    lower: lowerForRun,
    stopGradient: stop,
    ...extra,
  };
}
