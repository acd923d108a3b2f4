import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { filledTensor, normalTensor } from '../../ir/init.js';
import type { Net } from '../net.js';

// Layers the transformer-era families (ViT, ConvNeXt) share, written as torch.onnx exports them at opset 17, with
// timm's default init: Linear weights trunc_normal_(std=0.02) (timm's cut-offs ±2 are absolute, so this is
// N(0, 0.02²)), biases 0, LayerNorm weight 1 and bias 0.

// A learned tensor named as in timm's state_dict.
export function param(net: Net, name: string, t: ReturnType<typeof filledTensor>): Value {
  return net.graph.addInitializer(name, t);
}

// LayerNorm over the last axis (`eps` 1e-6 in timm's ViT and ConvNeXt).
export function layerNorm(net: Net, x: Value, name: string, eps = 1e-6): Value {
  const d = x.shape[x.rank - 1]!;
  const ins = [x, param(net, `${name}.weight`, filledTensor([d], 1)), param(net, `${name}.bias`, filledTensor([d], 0))];
  return net.b.node('LayerNormalization', ins, { axis: -1, epsilon: eps }, { name })[0]!;
}

// LayerNorm2d on [N,C,H,W] (timm's and torchvision's): channels-last, LayerNorm, back to channels-first.
export function layerNorm2d(net: Net, x: Value, name: string, eps = 1e-6): Value {
  const nhwc = net.b.transpose(x, [0, 2, 3, 1]);
  return net.b.transpose(layerNorm(net, nhwc, name, eps), [0, 3, 1, 2]);
}

// nn.Linear on the last axis of a [N,T,D] token map: x @ W^T + b, W stored [out, in] as in PyTorch.
export function linear(net: Net, x: Value, name: string, out: number): Value {
  const fin = x.shape[x.rank - 1]!;
  const w = param(net, `${name}.weight`, normalTensor(net.rng, [out, fin], 0.02));
  const bias = param(net, `${name}.bias`, filledTensor([out], 0));
  return net.b.add(net.b.matmul(x, net.b.transpose(w, [1, 0])), bias);
}

// A float scalar as a Constant node, as torch exports one: never an initializer, so never counted as a parameter.
export function scalar(net: Net, v: number): Value {
  return net.b.node('Constant', [], { value: Tensor.scalar(v) })[0]!;
}

// Exact GELU as torch exports it at opset 17: x · ½ · (1 + erf(x / √2)).
export function gelu(net: Net, x: Value): Value {
  const b = net.b;
  return b.mul(b.mul(x, b.add(b.op.Erf!([b.div(x, scalar(net, Math.SQRT2))]), scalar(net, 1))), scalar(net, 0.5));
}
