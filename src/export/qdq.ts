import { Node, type Graph, type Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { UserError } from '../util/errors.js';

// Affine 8-bit parameters of one tensor: real = scale · (q − zeroPoint). Activations are uint8 (zero point 0..255)
// with int8 weights, the U8S8 form onnxruntime's x86 and wasm kernels take: int8 activations read by more than one
// node are not converted by onnxruntime's S8→U8 pass, and its x86 Conv fusion then refuses them.
export interface QParams {
  scale: number;
  zeroPoint: number;
}

// Asymmetric uint8 parameters covering [lo, hi] (widened to include 0, so zero is exact and padding stays zero).
// A range starting at 0 (after ReLU) gets zero point 0: the quantiser's clamp then is the ReLU. Computed in float32,
// op by op, as the QAT graphs compute it from a tracked range (compiler/fakeQuant.ts, rangeParams), so that an export
// from the final ranges writes bit for bit the scales and zero points the student trained and was evaluated with:
// scale = (max(hi, 0) − min(lo, 0)) / 255 (1 for an empty range), zero point = round_half_even(−min(lo, 0) / scale).
export function activationParams(lo: number, hi: number): QParams {
  const f = Math.fround;
  const a = Math.min(f(lo), 0),
    b = Math.max(f(hi), 0);
  const d = f(b - a);
  const scale = d > 0 ? f(d / 255) : 1;
  const zeroPoint = Math.max(0, Math.min(255, roundHalfEven(f(-a / scale))));
  return { scale, zeroPoint };
}

// ONNX Round (and QuantizeLinear's rounding): halves to the even neighbour.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Weight bits: 8 uses [−127, 127]; 7 ("reduce range", onnxruntime's name) uses [−63, 63], so that onnxruntime's x86
// U8S8 kernels without VNNI (AVX2's VPMADDUBSW adds two u8·s8 products into a saturating int16: 2·255·127 > 32767)
// never saturate, at the price of one bit of weight precision. 7 is the portable default.
export type WeightBits = 7 | 8;
export const WEIGHT_BITS: readonly WeightBits[] = [7, 8];

// A weight-bits value from an option, or a UserError naming --weight-bits (export and compress check it alike).
export function checkWeightBits(bits: unknown): WeightBits {
  if (!WEIGHT_BITS.includes(bits as WeightBits))
    throw new UserError(`--weight-bits: ${String(bits)} is not one of ${WEIGHT_BITS.join(', ')}`);
  return bits as WeightBits;
}

// Per-channel symmetric int weights along `axis`: scale_c = max|w_c| / qmax, zero point 0, values in [−qmax, qmax]
// with qmax = 2^(bits−1) − 1.
export function quantizeWeights(w: Tensor, axis: number, bits: WeightBits = 7): { q: Tensor; scales: Float32Array } {
  const qmax = 2 ** (bits - 1) - 1;
  const data = w.data as Float32Array;
  const C = w.dims[axis]!;
  const inner = w.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channel = (i: number) => Math.floor(i / inner) % C;
  const amax = new Float64Array(C);
  for (let i = 0; i < data.length; i++) amax[channel(i)] = Math.max(amax[channel(i)]!, Math.abs(data[i]!));
  const scales = Float32Array.from(amax, (m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++)
    q[i] = Math.max(-qmax, Math.min(qmax, Math.round(data[i]! / scales[channel(i)]!)));
  return { q: new Tensor('int8', w.dims, q), scales };
}

// Bias as int32 in the accumulator's scale (input scale · weight scale per channel), as QLinearConv expects.
export function quantizeBias(
  b: Tensor,
  inputScale: number,
  weightScales: Float32Array,
): { q: Tensor; scales: Float32Array } {
  const data = b.data as Float32Array;
  const scales = Float32Array.from(weightScales, (s) => inputScale * s);
  const q = Int32Array.from(data, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / scales[c]!))));
  return { q: new Tensor('int32', b.dims, q), scales };
}

function node(g: Graph, op: string, inputs: Value[], outputs: Value[], attrs: Record<string, number> = {}): Node {
  const n = new Node(op, g.uniqueName(`${op}_${outputs[0]!.name}`));
  for (const [k, v] of Object.entries(attrs)) n.attributes.set(k, { kind: 'int', value: v });
  g.addNode(n, inputs, outputs);
  return n;
}

// Replace every read of activation `x` with DequantizeLinear(QuantizeLinear(x)) at fixed parameters: one
// QuantizeLinear, and one DequantizeLinear per reader, since onnxruntime fuses a node unit only around a DQ it owns.
export function insertQdq(g: Graph, x: Value, p: QParams): void {
  const scale = g.addInitializer(g.uniqueName(`${x.name}_scale`), Tensor.float32([], [p.scale]));
  const zp = g.addInitializer(
    g.uniqueName(`${x.name}_zero_point`),
    new Tensor('uint8', [], Uint8Array.of(p.zeroPoint)),
  );
  const shape = x.type?.shape ? { shape: [...x.type.shape] } : {};
  const q = g.newValue(`${x.name}_quantized`, { dtype: 'uint8', ...shape });
  const readers = [...x.uses];
  node(g, 'QuantizeLinear', [x, scale, zp], [q]);
  for (const u of readers) {
    const dq = g.newValue(`${x.name}_dequantized`, { dtype: 'float32', ...shape });
    node(g, 'DequantizeLinear', [q, scale, zp], [dq]);
    g.setInput(u.node, u.index, dq);
  }
}

// Replace every read of `x` by `readers` with DequantizeLinear(DynamicQuantizeLinear(x)): scale found per run.
export function insertDynamicQdq(g: Graph, x: Value, readers: { node: Node; index: number }[]): void {
  const shape = x.type?.shape ? { shape: [...x.type.shape] } : {};
  const q = g.newValue(`${x.name}_quantized`, { dtype: 'uint8', ...shape });
  const s = g.newValue(`${x.name}_scale`, { dtype: 'float32', shape: [] });
  const zp = g.newValue(`${x.name}_zero_point`, { dtype: 'uint8', shape: [] });
  const dq = g.newValue(`${x.name}_dequantized`, { dtype: 'float32', ...shape });
  node(g, 'DynamicQuantizeLinear', [x], [q, s, zp]);
  node(g, 'DequantizeLinear', [q, s, zp], [dq]);
  for (const u of readers) g.setInput(u.node, u.index, dq);
}

// Store a constant as int8/int32 values behind a DequantizeLinear (per-channel along `axis`), read by `reader`.
export function dequantizedConstant(g: Graph, name: string, q: Tensor, scales: Float32Array, axis: number): Value {
  const qv = g.addInitializer(g.uniqueName(`${name}_quantized`), q);
  const sv = g.addInitializer(g.uniqueName(`${name}_scale`), Tensor.float32([scales.length], scales));
  const zeros = q.dtype === 'int32' ? new Int32Array(scales.length) : new Int8Array(scales.length);
  const zv = g.addInitializer(g.uniqueName(`${name}_zero_point`), new Tensor(q.dtype, [scales.length], zeros));
  const out = g.newValue(`${name}_dequantized`, { dtype: 'float32', shape: [...q.dims] });
  node(g, 'DequantizeLinear', [qv, sv, zv], [out], { axis });
  return out;
}
