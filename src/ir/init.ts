import { Tensor } from './tensor.js';

// A seeded PRNG (splitmix32 stream + Box-Muller normals): the same seed gives the same weights, byte for byte.
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  // Uniform in [0, 1).
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  }

  // Standard normal draw.
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

// Tensor of N(0, std²) draws (PyTorch's `normal_(0, std)` / kaiming_normal_).
export function normalTensor(rng: Rng, dims: number[], std: number): Tensor {
  const t = Tensor.float32(dims);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = rng.normal() * std;
  return t;
}

// Tensor of U(-bound, bound) draws (PyTorch's default Conv/Linear init: kaiming_uniform(a=√5) gives bound 1/√fan_in).
export function uniformTensor(rng: Rng, dims: number[], bound: number): Tensor {
  const t = Tensor.float32(dims);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = (rng.next() * 2 - 1) * bound;
  return t;
}

// Tensor filled with one value (BN gamma 1, beta 0, running stats).
export function filledTensor(dims: number[], value: number): Tensor {
  const t = Tensor.float32(dims);
  (t.data as Float32Array).fill(value);
  return t;
}

// How a family initialises convolutions, as in its reference code.
export type ConvInit =
  | 'kaiming-fan-out' // kaiming_normal_(mode='fan_out', relu): std = √(2 / (C_out·k·k)); also WRN/VGG/MobileNetV2's normal_(0, √(2/n))
  | 'torch-default'; // nn.Conv2d's own init: U(±1/√fan_in) for weight and bias

// How a family initialises its Linear classifier, as in its reference code.
export type LinearInit =
  | 'torch-default' // U(±1/√in) weight and bias (ResNet, ShuffleNets)
  | 'torch-default-zero-bias' // WRN: default weight, bias zeroed
  | 'normal-0.01'; // VGG, MobileNetV2: N(0, 0.01²) weight, bias zeroed
