import { addInput, newGraph, type Builder } from '../ir/builder.js';
import type { Graph, Value } from '../ir/graph.js';
import { newModel, type Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { filledTensor, normalTensor, Rng, uniformTensor, type ConvInit, type LinearInit } from '../ir/init.js';
import { TAPS_METADATA_KEY, ZOO_METADATA_KEY, type TapName, type ZooOptions } from './types.js';

// Options of one convolution layer (PyTorch's Conv2d arguments).
export interface ConvSpec {
  out: number;
  k: number;
  stride?: number;
  pad?: number;
  groups?: number;
  bias?: boolean;
  init: ConvInit;
}

// Layer helpers over the IR builder that zoo families share: named parameters, reference inits, taps.
// The graph is built with batch 1 so every value has a static shape; `finish` makes the batch dim dynamic.
export class Net {
  readonly graph: Graph;
  readonly b: Builder;
  readonly rng: Rng;
  readonly input: Value;

  constructor(
    readonly name: string,
    readonly opts: ZooOptions,
  ) {
    const { graph, b } = newGraph(name);
    this.graph = graph;
    this.b = b;
    this.rng = new Rng(opts.seed);
    this.input = addInput(graph, 'input', 'float32', [1, opts.inChannels, opts.height, opts.width]);
  }

  // Channel count of a 4D (or 2D) value.
  channels(x: Value): number {
    return x.shape[1]!;
  }

  private param(name: string, t: Tensor): Value {
    return this.graph.addInitializer(name, t);
  }

  // Conv2d named `name` (parameters `name.weight`, `name.bias`).
  conv(x: Value, name: string, s: ConvSpec): Value {
    const cin = this.channels(x);
    const groups = s.groups ?? 1;
    const pad = s.pad ?? (s.k - 1) >> 1;
    const dims = [s.out, cin / groups, s.k, s.k];
    const fanIn = (cin / groups) * s.k * s.k;
    const w =
      s.init === 'kaiming-fan-out'
        ? normalTensor(this.rng, dims, Math.sqrt(2 / (s.out * s.k * s.k)))
        : uniformTensor(this.rng, dims, 1 / Math.sqrt(fanIn));
    const inputs = [x, this.param(`${name}.weight`, w)];
    if (s.bias) {
      const bias =
        s.init === 'kaiming-fan-out'
          ? filledTensor([s.out], 0)
          : uniformTensor(this.rng, [s.out], 1 / Math.sqrt(fanIn));
      inputs.push(this.param(`${name}.bias`, bias));
    }
    const attrs = {
      kernel_shape: [s.k, s.k],
      pads: [pad, pad, pad, pad],
      strides: [s.stride ?? 1, s.stride ?? 1],
      group: groups,
    };
    return this.b.node('Conv', inputs, attrs, { name })[0]!;
  }

  // BatchNorm2d in inference form: gamma 1, beta 0, running mean 0, var 1, eps 1e-5, momentum 0.9 (= PyTorch's 0.1).
  bn(x: Value, name: string): Value {
    const c = this.channels(x);
    const ins = [
      x,
      this.param(`${name}.weight`, filledTensor([c], 1)),
      this.param(`${name}.bias`, filledTensor([c], 0)),
      this.param(`${name}.running_mean`, filledTensor([c], 0)),
      this.param(`${name}.running_var`, filledTensor([c], 1)),
    ];
    return this.b.node('BatchNormalization', ins, { epsilon: 1e-5, momentum: 0.9 }, { name })[0]!;
  }

  relu(x: Value): Value {
    return this.b.op.Relu!([x]);
  }

  // conv → BN (→ ReLU): the unit most CIFAR nets repeat.
  convBn(x: Value, name: string, bnName: string, s: ConvSpec, relu = true): Value {
    const y = this.bn(this.conv(x, name, s), bnName);
    return relu ? this.relu(y) : y;
  }

  // Global average pool and flatten: the FC input (`embedding`).
  pool(x: Value): Value {
    return this.b.op.Flatten!([this.b.op.GlobalAveragePool!([x])], { axis: 1 });
  }

  maxPool(x: Value, k: number, stride: number, pad = 0): Value {
    return this.b.op.MaxPool!([x], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
  }

  // AvgPool2d as PyTorch computes it (count_include_pad=True by default).
  avgPool(x: Value, k: number, stride: number, pad = 0): Value {
    return this.b.op.AveragePool!([x], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      count_include_pad: 1,
    });
  }

  // Channel shuffle as PyTorch exports it: view [N,g,C/g,H,W] → permute(0,2,1,3,4) → view [N,C,H,W].
  shuffle(x: Value, groups: number): Value {
    const [, c, h, w] = x.shape as [number, number, number, number];
    const v = this.b.reshape(x, [0, groups, c / groups, h, w]);
    const t = this.b.transpose(v, [0, 2, 1, 3, 4]);
    return this.b.reshape(t, [0, c, h, w]);
  }

  // The classifier: Linear(in, classes) whose output is the graph output `logits`.
  classifier(x: Value, name: string, init: LinearInit): Value {
    const fin = this.channels(x);
    const k = this.opts.classes;
    const bound = 1 / Math.sqrt(fin);
    const w =
      init === 'normal-0.01' ? normalTensor(this.rng, [k, fin], 0.01) : uniformTensor(this.rng, [k, fin], bound);
    const bias = init === 'torch-default' ? uniformTensor(this.rng, [k], bound) : filledTensor([k], 0);
    const ins = [x, this.param(`${name}.weight`, w), this.param(`${name}.bias`, bias)];
    return this.b.node('Gemm', ins, { transB: 1 }, { name, outputNames: ['logits'] })[0]!;
  }

  // Finish the model: Identity taps with the exact tap names, dynamic batch `N`, metadata.
  finish(logits: Value, taps: Partial<Record<Exclude<TapName, 'logits'>, Value>>): Model {
    const g = this.graph;
    const map: Record<string, string> = {};
    for (const [tap, v] of Object.entries(taps)) {
      this.b.identity(v, tap);
      map[tap] = tap;
    }
    map.logits = logits.name;
    g.outputs = [logits];
    for (const v of g.values.values()) {
      if (v.constant || !v.type?.shape) continue;
      v.type =
        v === this.input || v === logits
          ? { dtype: v.dtype, shape: ['N', ...v.type.shape.slice(1)] }
          : { dtype: v.dtype };
    }
    const model = newModel(g, 17);
    model.proto.producerName = 'onnx-distill';
    model.setMetadata(TAPS_METADATA_KEY, JSON.stringify(map));
    const { inChannels, height, width, classes, seed } = this.opts;
    model.setMetadata(
      ZOO_METADATA_KEY,
      JSON.stringify({ name: this.name, input: [inChannels, height, width], classes, seed }),
    );
    return model;
  }
}
