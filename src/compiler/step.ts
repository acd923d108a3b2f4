import { backward } from '../autodiff/backward.js';
import { Builder } from '../ir/builder.js';
import { Graph, type Value } from '../ir/graph.js';
import { classifierIO } from '../ir/classifier.js';
import { Model, serializeModel } from '../ir/model.js';
import { eliminateDeadCode } from '../ir/passes/dce.js';
import { Tensor } from '../ir/tensor.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../ir/init.js';
import { expandTrainingBatchNorm, toTrainingBatchNorm } from './bnTrain.js';
import { expandSilu, toSilu } from './silu.js';
import { expandFakeQuant, fakeQuantize } from './fakeQuant.js';
import { termByName } from './terms/index.js';
import { placeNetworks, tapValue, type NetworkSpec, type PlacedNetwork } from './network.js';
import { TRAIN_OPSET } from './opset.js';
import { optimizerByName } from './optim/index.js';
import { liftToInputs } from '../ir/params.js';
import { slotAddress } from './replay.js';
import type { CompiledStep, StateEntry, StepSpec, TermInputEntry, TermUse } from './types.js';

// The step's contract lives in types.ts (replay and the teacher cache read it too); re-exported for its readers.
export type { CompiledStep, StateEntry, StepSpec, TermInputEntry, TermUse } from './types.js';

// Compile forward (all networks) + weighted loss terms + backward + optimizer update into one ONNX graph.
export function compileStep(spec: StepSpec): CompiledStep {
  if (spec.networks.length === 0) throw new UserError('a step needs at least one network');
  const names = new Set<string>();
  for (const n of spec.networks) {
    if (names.has(n.name)) throw new UserError(`two networks are named '${n.name}'`);
    names.add(n.name);
  }
  const g = new Graph('train_step');
  const fedNames = new Set(spec.logitInputs ?? []);
  const placedSpecs = spec.networks.filter((n) => !fedNames.has(n.name));
  for (const name of fedNames) {
    const n = spec.networks.find((m) => m.name === name);
    if (!n) throw new UserError(`logitInputs: no network '${name}'`);
    if (n.trainable)
      throw new UserError(`logitInputs: network '${name}' is trainable; only a frozen network's logits can be fed`);
    const fed = spec.networks.find((m) => m.input?.network === name);
    if (fed) throw new UserError(`logitInputs: network '${name}' feeds '${fed.name}', so it must run in the step`);
  }
  if (placedSpecs.length === 0) throw new UserError('a step needs at least one network that runs in it');
  const first = placedSpecs[0]!;
  const dims = classifierIO(first.model.graph).shape ?? [];
  const inputShape = [spec.batch, ...dims.slice(1).map((d) => (typeof d === 'number' ? d : NaN))];
  const x = g.value('input', { dtype: 'float32', shape: inputShape });
  g.inputs.push(x);
  if (first.input) throw new UserError(`the first network '${first.name}' must read the image, not another network`);
  const stop = new Set<Value>();
  const nets = placeNetworks(g, x, placedSpecs, { mode: 'train', batch: spec.batch }, stop);
  const classes = checkClasses(nets);
  const b = new Builder(g, 'train');
  const readsLabels = spec.terms.some((t) => termByName(t.term).needsLabels);
  const labelsFrom: CompiledStep['labels'] = !readsLabels
    ? { from: 'none' }
    : spec.pseudoLabels
      ? { from: 'network', network: spec.pseudoLabels }
      : { from: 'input' };
  let labels: Value | undefined;
  if (labelsFrom.from === 'input') {
    labels = g.value('labels', { dtype: 'float32', shape: [spec.batch, classes] });
    g.inputs.push(labels);
  }
  const logitInputs: Record<string, string> = {};
  const fed = new Map(
    [...fedNames].map((name) => {
      const v = addScalar(g, `cache.${name}.logits`, [spec.batch, classes]);
      logitInputs[name] = v.name;
      return [name, v] as const;
    }),
  );
  if (labelsFrom.from === 'network') labels = argmaxLabels(b, nets, fed, labelsFrom.network, classes, stop);
  const modules = new ModuleParams(g, spec.seed ?? 0);
  const outputs: Value[] = [];
  const report = (v: Value, name: string) => {
    outputs.push(b.identity(v, name));
  };
  const termInputs: TermInputEntry[] = [];
  const batchInputs: TermInputEntry[] = [];
  const pseudo = labelsFrom.from === 'network' ? `argmax ${labelsFrom.network}.logits` : undefined;
  const weighted = spec.terms.map((use, i) =>
    buildTerm(b, nets, fed, use, i, labels, modules, stop, { termInputs, batchInputs, batch: spec.batch }, pseudo),
  );
  const loss = weighted.map((t) => b.mul(t.value, addScalar(g, `w_${t.name}`))).reduce((a, c) => b.add(a, c));
  report(loss, 'loss');
  for (const t of weighted) report(t.value, `term_${t.name}`);
  const logits: Record<string, string> = {};
  for (const n of nets) {
    report(n.logits, `logits.${n.spec.name}`);
    logits[n.spec.name] = `logits.${n.spec.name}`;
  }
  const groups = [
    ...nets.flatMap((n) => n.params.map((p) => ({ p, net: n.spec, noDecay: n.noDecay.has(p) }))),
    ...modules.params,
  ];
  const buffers = [...nets.flatMap((n) => n.buffers.map((v) => ({ v, net: n.spec.name }))), ...modules.buffers];
  const trainableScales = new Set(groups.map((x) => x.p));
  const bns = toTrainingBatchNorm(g, (n) => !!n.inputs[1] && trainableScales.has(n.inputs[1]));
  toSilu(g);
  const initial: Record<string, Tensor> = {};
  for (const v of [...groups.map((x) => x.p), ...buffers.map((x) => x.v)]) initial[v.name] = v.constant!;
  liftToInputs(g, [...groups.map((x) => x.p), ...buffers.map((x) => x.v)]);
  // After lifting, so that each weight's fake-quant scale is computed from the step's weights, not folded once.
  const ranges = new Map(nets.flatMap((n) => [...fakeQuantize(g, n, { track: true })]));
  if (groups.length === 0) throw new UserError('no network of this step is trainable');
  const grads = backward(g, { loss, wrt: groups.map((x) => x.p), stopGradient: stop });
  const opt = optimizerByName(spec.optimizer);
  const lr = addScalar(g, 'lr');
  const bc = opt.biasCorrection ? { bc1: addScalar(g, 'bc1'), bc2: addScalar(g, 'bc2') } : {};
  const carry: Record<string, string> = {};
  const carryOut = (v: Value, name: string, into: string) => {
    report(v, name);
    carry[name] = into;
  };
  const slots: CompiledStep['slots'] = [];
  const source = new Map(nets.flatMap((n) => [...n.source.entries()]));
  const entry = (v: Value, network: string): StateEntry => ({
    name: v.name,
    shape: v.shape,
    network,
    source: source.get(v) ?? v.name.slice(network.length + 1),
  });
  for (const { p, net, noDecay } of groups) {
    const grad = grads.get(p);
    if (!grad)
      throw new UserError(
        `parameter '${p.name}' of network '${net.name}' gets no gradient from the loss; freeze the network or add a term that reads it`,
      );
    if (spec.exposeGradients) report(grad, `grad.${p.name}`);
    const pb = b.scoped(p.name);
    const state = opt.slots.map((s) => {
      slots.push({ ...entry(p, net.name), name: `${p.name}.${s}`, param: p.name, slot: s });
      return addScalar(g, `${p.name}.${s}`, p.shape);
    });
    const wd = noDecay ? 0 : (net.weightDecay ?? spec.hyper.weightDecay);
    const scale = net.lrScale ?? 1;
    const upd = opt.update(
      pb,
      p,
      grad,
      state,
      { lr: scale === 1 ? lr : pb.mul(lr, scale), ...bc },
      { ...spec.hyper, weightDecay: wd },
    );
    carryOut(upd.param, `${p.name}.new`, p.name);
    upd.state.forEach((v, i) => carryOut(v, `${state[i]!.name}.new`, state[i]!.name));
  }
  const bufferSet = new Set(buffers.map((x) => x.v));
  for (const bn of bns) {
    for (const [stat, upd] of [
      [bn.runningMean, bn.newMean],
      [bn.runningVar, bn.newVar],
    ] as const) {
      if (bufferSet.has(stat)) carryOut(upd, `${stat.name}.updated`, stat.name);
    }
  }
  for (const [buf, next] of [...modules.next, ...ranges]) carryOut(next, `${buf.name}.updated`, buf.name);
  expandTrainingBatchNorm(g);
  expandSilu(g);
  expandFakeQuant(g);
  g.outputs = outputs;
  eliminateDeadCode(g);
  return {
    bytes: serializeModel(new Model(g, new Map([['', TRAIN_OPSET]]))).onnx,
    inputName: x.name,
    inputShape,
    classes,
    initial,
    carry,
    logits,
    logitInputs,
    labels: labelsFrom,
    termInputs,
    batchInputs,
    params: groups.map((x) => entry(x.p, x.net.name)),
    buffers: buffers.map((x) => entry(x.v, x.net)),
    slots,
    biasCorrection: opt.biasCorrection,
    terms: weighted.map((t) => ({ name: t.name, term: t.term, text: t.text })),
  };
}

function addScalar(g: Graph, name: string, shape: number[] = []): Value {
  if (g.values.has(name)) throw new UserError(`two inputs of the step are named '${name}' (term names must be unique)`);
  const v = g.value(name, { dtype: 'float32', shape });
  g.inputs.push(v);
  return v;
}

// Every network must predict the same classes.
function checkClasses(nets: PlacedNetwork[]): number {
  const c = nets[0]!.logits.shape[1]!;
  for (const n of nets.slice(1)) {
    const k = n.logits.shape[1]!;
    if (k !== c)
      throw new UserError(
        `network '${n.spec.name}' outputs ${k} classes but '${nets[0]!.spec.name}' outputs ${c}; a teacher and its students must predict the same classes`,
      );
  }
  return c;
}

// Parameters and buffers that terms add (auxiliary modules), trained with the network of the term's first input slot.
class ModuleParams {
  readonly params: { p: Value; net: NetworkSpec; noDecay: boolean }[] = [];
  readonly buffers: { v: Value; net: string }[] = [];
  // Term-updated buffers and their values after the step.
  readonly next = new Map<Value, Value>();

  constructor(
    private g: Graph,
    private seed: number,
  ) {}

  builder(scope: string, owner: NetworkSpec, index: number) {
    const add = (name: string, init: Tensor) => {
      const full = `${scope}/${name}`;
      if (this.g.values.has(full)) throw new Error(`module value '${full}' defined twice`);
      return this.g.addInitializer(full, init);
    };
    return {
      param: (name: string, init: Tensor) => {
        const p = add(name, init);
        this.params.push({ p, net: { ...owner, name: scope }, noDecay: false });
        return p;
      },
      buffer: (name: string, init: Tensor) => {
        const v = add(name, init);
        this.buffers.push({ v, net: scope });
        return v;
      },
      carry: (buffer: Value, next: Value) => {
        if (!this.buffers.some((x) => x.v === buffer))
          throw new Error(`carry: '${buffer.name}' is not a buffer of this term`);
        this.next.set(buffer, next);
      },
      rng: new Rng(this.seed * 1000003 + index + 1),
    };
  }
}

// One-hot labels from a network's argmax (first maximum on ties), behind a stop-gradient: onehot(argmax_c z_nc).
function argmaxLabels(
  b: Builder,
  nets: PlacedNetwork[],
  fed: Map<string, Value>,
  network: string,
  classes: number,
  stop: Set<Value>,
): Value {
  const net = nets.find((n) => n.spec.name === network);
  const z = fed.get(network) ?? (net ? net.logits : undefined);
  if (!z)
    throw new UserError(
      `pseudo-labels: no network '${network}' in the step (networks: ${nets.map((n) => n.spec.name).join(', ')})`,
    );
  const sg = b.identity(z, 'sg/pseudo_labels');
  stop.add(sg);
  const best = b.op.ArgMax!([sg], { axis: 1, keepdims: 1 });
  const hit = b.op.Equal!([
    best,
    b.constant(
      Tensor.int64(
        [1, classes],
        Array.from({ length: classes }, (_, i) => i),
      ),
    ),
  ]);
  return b.op.Cast!([hit], { to: 1 });
}

// Wire one term: resolve its taps (targets behind a stop-gradient; fed logits from their input), check shapes, build
// its subgraph.
function buildTerm(
  b: Builder,
  nets: PlacedNetwork[],
  fed: Map<string, Value>,
  use: TermUse,
  index: number,
  labels: Value | undefined,
  modules: ModuleParams,
  stop: Set<Value>,
  io: { termInputs: TermInputEntry[]; batchInputs: TermInputEntry[]; batch: number },
  pseudo?: string,
) {
  const def = termByName(use.term);
  const byName = new Map(nets.map((n) => [n.spec.name, n]));
  const options = { ...def.defaults, ...use.options };
  for (const k of Object.keys(use.options ?? {})) {
    if (!(k in def.defaults))
      throw new UserError(
        `term '${use.name}' (${def.name}): unknown option '${k}'; options: ${Object.keys(def.defaults).join(', ') || 'none'}`,
      );
  }
  const taps: Record<string, Value> = {};
  const shapes: Record<string, number[]> = {};
  const where: Record<string, string> = {};
  let owner: PlacedNetwork | undefined;
  for (const slot of def.slots) {
    const at = slotAddress(use, slot);
    if (!at)
      throw new UserError(
        `term '${use.name}' (${def.name}): slot '${slot.name}' is not wired to a tap (e.g. ${slot.name}=student.${slot.tap})`,
      );
    const { network: netName, tap } = at;
    const given = fed.get(netName);
    const net = byName.get(netName);
    if (given && (tap !== 'logits' || !slot.target))
      throw new UserError(
        `term '${use.name}' reads ${netName}.${tap}${slot.target ? '' : ' as an input'}, but only ${netName}'s logits are fed to the step (as a target)`,
      );
    if (!net && !given)
      throw new UserError(
        `term '${use.name}': no network '${netName}' (networks: ${[...byName.keys(), ...fed.keys()].join(', ')})`,
      );
    let v = given ?? tapValue(net!, tap);
    if (slot.target) {
      v = b.identity(v, `sg/${use.name}/${slot.name}`);
      stop.add(v);
    } else owner ??= net!;
    taps[slot.name] = v;
    shapes[slot.name] = v.shape;
    where[slot.name] = `${netName}.${tap}`;
  }
  if (!owner) throw new UserError(`term '${use.name}' (${def.name}) reads only targets, so it trains nothing`);
  def.check?.(shapes, options);
  const module = modules.builder(use.name, owner.spec, index);
  const sg = (v: Value) => {
    const o = b.identity(v);
    stop.add(o);
    return o;
  };
  const input = (key: string) => {
    if (!def.inputs?.[key]) throw new Error(`term '${def.name}' reads input '${key}' without a schedule for it`);
    io.termInputs.push({ input: `in_${use.name}.${key}`, term: def.name, key, options });
    return addScalar(b.graph, `in_${use.name}.${key}`);
  };
  const batchInput = (key: string) => {
    const d = def.batchInputs?.[key];
    if (!d) throw new Error(`term '${def.name}' reads batch input '${key}' without a definition of it`);
    io.batchInputs.push({ input: `bin_${use.name}.${key}`, term: def.name, key, options });
    const v = b.graph.value(`bin_${use.name}.${key}`, { dtype: 'int64', shape: d.shape(io.batch, options) });
    b.graph.inputs.push(v);
    return v;
  };
  const value = def.build({
    b: b.scoped(use.name),
    taps,
    options,
    module,
    stop: sg,
    input,
    batchInput,
    get labels(): Value {
      if (!labels) throw new Error(`term '${def.name}' reads the labels but does not declare needsLabels`);
      return labels;
    },
  });
  if (value.shape.length !== 0)
    throw new Error(`term '${def.name}' returned shape ${JSON.stringify(value.shape)}, not a scalar`);
  const inputs = def.slots.filter((s) => !s.target).map((s) => where[s.name]!);
  const targets = [
    ...def.slots.filter((s) => s.target).map((s) => where[s.name]!),
    ...(def.needsLabels && pseudo ? [pseudo] : []),
  ];
  const extra = def.label?.(options);
  const text = `${def.name}(${inputs.join(', ')}${targets.length ? ` ← ${targets.join(', ')}` : ''}${extra ? `, ${extra}` : ''})`;
  return { name: use.name, term: def.name, value, text };
}
