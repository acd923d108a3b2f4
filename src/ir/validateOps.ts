import { AttributeProto_AttributeType as AT, type AttributeProto, type NodeProto } from '../onnx/onnx_pb.js';
import { SHAPE_RULES } from './shapes/index.js';

// Input counts and attribute ranges of the default-domain ops onnx-distill reads (shapes, MACs, gradients, taps):
// a model that breaks them is refused at load with the node named, instead of failing inside a pass.

type Check = (a: Attrs, opset: number, np: NodeProto) => string | undefined;

// Attribute access on a NodeProto, typed by what the attribute claims to be.
class Attrs {
  private map: Map<string, AttributeProto>;
  constructor(np: NodeProto) {
    this.map = new Map(np.attribute.map((a) => [a.name, a]));
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  private get(name: string, type: AT, kind: string): AttributeProto | undefined {
    const a = this.map.get(name);
    if (a && a.type !== type) throw new AttrProblem(`attribute '${name}' must be ${kind}`);
    return a;
  }
  int(name: string): number | undefined {
    const a = this.get(name, AT.INT, 'an int');
    return a ? Number(a.i) : undefined;
  }
  float(name: string): number | undefined {
    return this.get(name, AT.FLOAT, 'a float')?.f;
  }
  ints(name: string): number[] | undefined {
    return this.get(name, AT.INTS, 'a list of ints')?.ints.map(Number);
  }
  floats(name: string): number[] | undefined {
    return this.get(name, AT.FLOATS, 'a list of floats')?.floats;
  }
  string(name: string): string | undefined {
    const a = this.get(name, AT.STRING, 'a string');
    return a ? new TextDecoder().decode(a.s) : undefined;
  }
}

class AttrProblem extends Error {}

const flag = (a: Attrs, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = a.int(n);
    if (v !== undefined && v !== 0 && v !== 1) return `attribute '${n}' is ${v}; it must be 0 or 1`;
  }
  return undefined;
};
const finite = (a: Attrs, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = a.float(n);
    if (v !== undefined && !Number.isFinite(v)) return `attribute '${n}' is ${v}; it must be a finite number`;
  }
  return undefined;
};
const oneOf = (a: Attrs, name: string, allowed: string[]): string | undefined => {
  const v = a.string(name);
  return v !== undefined && !allowed.includes(v)
    ? `attribute '${name}' is '${v}'; it must be one of ${allowed.join(', ')}`
    : undefined;
};
const axisLike = (a: Attrs, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = a.int(n);
    if (v !== undefined && Math.abs(v) > 64) return `attribute '${n}' is ${v}; no tensor has that many dims`;
  }
  return undefined;
};
const axesList = (a: Attrs, name = 'axes'): string | undefined => {
  const v = a.ints(name);
  if (!v) return undefined;
  if (v.some((x) => Math.abs(x) > 64))
    return `attribute '${name}' [${v.join(', ')}] names an axis beyond any tensor's rank`;
  return new Set(v).size !== v.length ? `attribute '${name}' [${v.join(', ')}] repeats an axis` : undefined;
};

// Kernel, stride, dilation and pad lists of the sliding-window ops, checked against each other.
function windowed(requireKernel: boolean): Check {
  return (a) => {
    const k = a.ints('kernel_shape');
    if (requireKernel && !k) return `attribute 'kernel_shape' is required`;
    const rank = k?.length;
    if (k && (k.length === 0 || k.some((d) => d < 1 || d > 65536)))
      return `kernel_shape [${k.join(', ')}] must be positive sizes`;
    for (const [name, min] of [
      ['strides', 1],
      ['dilations', 1],
      ['output_padding', 0],
      ['output_shape', 1],
    ] as const) {
      const v = a.ints(name);
      if (v && v.some((d) => d < min || d > 65536))
        return `attribute '${name}' [${v.join(', ')}] must be values of at least ${min}`;
      if (v && rank !== undefined && name !== 'output_shape' && v.length !== rank)
        return `attribute '${name}' has ${v.length} values for a ${rank}-d kernel`;
    }
    const pads = a.ints('pads');
    if (pads && pads.some((p) => p < 0 || p > 65536))
      return `attribute 'pads' [${pads.join(', ')}] must be non-negative`;
    if (pads && (pads.length % 2 !== 0 || (rank !== undefined && pads.length !== 2 * rank)))
      return `attribute 'pads' has ${pads.length} values${rank !== undefined ? `; a ${rank}-d kernel needs ${2 * rank}` : ', an odd count'}`;
    const group = a.int('group');
    if (group !== undefined && (group < 1 || group > 65536))
      return `attribute 'group' is ${group}; it must be at least 1`;
    return (
      oneOf(a, 'auto_pad', ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']) ??
      flag(a, 'ceil_mode', 'count_include_pad', 'storage_order')
    );
  };
}

const reduce: Check = (a) => axesList(a) ?? flag(a, 'keepdims', 'noop_with_empty_axes');

const ATTRS: Record<string, Check> = {
  Conv: windowed(false),
  ConvTranspose: windowed(false),
  MaxPool: windowed(true),
  AveragePool: windowed(true),
  LpPool: windowed(true),
  Gemm: (a) => flag(a, 'transA', 'transB') ?? finite(a, 'alpha', 'beta'),
  BatchNormalization: (a) => {
    const eps = a.float('epsilon');
    if (eps !== undefined && !(eps >= 0 && eps < 1)) return `attribute 'epsilon' is ${eps}; it must be in [0, 1)`;
    return finite(a, 'momentum') ?? flag(a, 'training_mode', 'spatial', 'is_test');
  },
  InstanceNormalization: (a) => finite(a, 'epsilon'),
  LayerNormalization: (a) => finite(a, 'epsilon') ?? axisLike(a, 'axis'),
  Dropout: (a) => {
    const r = a.float('ratio');
    return r !== undefined && !(r >= 0 && r < 1)
      ? `attribute 'ratio' is ${r}; it must be in [0, 1)`
      : flag(a, 'is_test');
  },
  LeakyRelu: (a) => finite(a, 'alpha'),
  Elu: (a) => finite(a, 'alpha'),
  Celu: (a) => finite(a, 'alpha'),
  Selu: (a) => finite(a, 'alpha', 'gamma'),
  HardSigmoid: (a) => finite(a, 'alpha', 'beta'),
  ThresholdedRelu: (a) => finite(a, 'alpha'),
  Clip: (a) => {
    const lo = a.float('min'),
      hi = a.float('max');
    return Number.isNaN(lo) || Number.isNaN(hi) || (lo !== undefined && hi !== undefined && lo > hi)
      ? `attributes min ${lo} / max ${hi} are not a range`
      : undefined;
  },
  Gelu: (a) => oneOf(a, 'approximate', ['none', 'tanh']),
  Flatten: (a) => axisLike(a, 'axis'),
  Concat: (a) => axisLike(a, 'axis'),
  Gather: (a) => axisLike(a, 'axis'),
  GatherElements: (a) => axisLike(a, 'axis'),
  ScatterElements: (a) => axisLike(a, 'axis'),
  Softmax: (a) => axisLike(a, 'axis'),
  LogSoftmax: (a) => axisLike(a, 'axis'),
  Hardmax: (a) => axisLike(a, 'axis'),
  ArgMax: (a) => axisLike(a, 'axis') ?? flag(a, 'keepdims', 'select_last_index'),
  ArgMin: (a) => axisLike(a, 'axis') ?? flag(a, 'keepdims', 'select_last_index'),
  Split: (a) => {
    const s = a.ints('split');
    if (s && s.some((x) => x < 0)) return `attribute 'split' [${s.join(', ')}] has a negative size`;
    const k = a.int('num_outputs');
    return k !== undefined && k < 1 ? `attribute 'num_outputs' is ${k}` : axisLike(a, 'axis');
  },
  Transpose: (a) => {
    const p = a.ints('perm');
    return p && [...p].sort((x, y) => x - y).some((x, i) => x !== i)
      ? `attribute 'perm' [${p.join(', ')}] is not a permutation`
      : undefined;
  },
  Squeeze: (a) => axesList(a),
  Unsqueeze: (a) => axesList(a),
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL1: reduce,
  ReduceL2: reduce,
  ReduceLogSum: reduce,
  ReduceLogSumExp: reduce,
  ReduceSumSquare: reduce,
  Reshape: (a) => flag(a, 'allowzero'),
  Pad: (a) => {
    const p = a.ints('pads');
    return (
      oneOf(a, 'mode', ['constant', 'reflect', 'edge', 'wrap']) ??
      (p && p.length % 2 ? `attribute 'pads' has an odd count (${p.length})` : undefined)
    );
  },
  Resize: (a) => oneOf(a, 'mode', ['nearest', 'linear', 'cubic']),
  Upsample: (a) => {
    const s = a.floats('scales');
    return (
      oneOf(a, 'mode', ['nearest', 'linear', 'bilinear']) ??
      (s && s.some((x) => !(x > 0 && x < 65536)) ? `attribute 'scales' [${s.join(', ')}] must be positive` : undefined)
    );
  },
  Cast: (a) => {
    const to = a.int('to');
    return to === undefined
      ? `attribute 'to' is required`
      : to < 1 || to > 26
        ? `attribute 'to' is ${to}, which is not an ONNX element type`
        : undefined;
  },
  Constant: (a) => {
    const values = [
      'value',
      'value_float',
      'value_floats',
      'value_int',
      'value_ints',
      'value_string',
      'value_strings',
      'sparse_value',
    ].filter((n) => a.has(n));
    return values.length !== 1
      ? `a Constant needs exactly one value attribute; it has ${values.length ? values.join(', ') : 'none'}`
      : undefined;
  },
};

// Fewest inputs each op needs (positions that must be named), where the count does not depend on the opset.
const MIN_INPUTS: Record<string, number> = {
  Conv: 2,
  ConvTranspose: 2,
  Gemm: 2,
  MatMul: 2,
  BatchNormalization: 5,
  InstanceNormalization: 3,
  LayerNormalization: 2,
  Add: 2,
  Sub: 2,
  Mul: 2,
  Div: 2,
  Pow: 2,
  Mod: 2,
  Equal: 2,
  Less: 2,
  Greater: 2,
  LessOrEqual: 2,
  GreaterOrEqual: 2,
  And: 2,
  Or: 2,
  Xor: 2,
  PRelu: 2,
  Where: 3,
  Expand: 2,
  Tile: 2,
  Gather: 2,
  GatherElements: 2,
  ScatterElements: 3,
  Range: 3,
  OneHot: 3,
  CastLike: 2,
  QuantizeLinear: 2,
  DequantizeLinear: 2,
  Max: 1,
  Min: 1,
  Sum: 1,
  Mean: 1,
  Concat: 1,
};
// Ops whose later inputs became required at an opset: [opset, count].
const MIN_INPUTS_FROM: Record<string, [number, number]> = {
  Reshape: [5, 2],
  Slice: [10, 3],
  Unsqueeze: [13, 2],
  Pad: [11, 2],
  Upsample: [9, 2],
};
// Ops with no inputs at all; every other op the tool reads (it has a shape rule) needs at least its first.
const SOURCES = new Set(['Constant', 'RandomNormal', 'RandomUniform']);

// A problem with the node's input count (required inputs unnamed), or undefined.
export function checkOpArity(np: NodeProto, opset: number): string | undefined {
  if (SOURCES.has(np.opType)) return undefined;
  const from = MIN_INPUTS_FROM[np.opType];
  const read = Object.hasOwn(SHAPE_RULES, np.opType) || Object.hasOwn(MIN_INPUTS, np.opType) || !!from;
  if (!read) return undefined;
  const need = Math.max(1, MIN_INPUTS[np.opType] ?? 1, from && opset >= from[0] ? from[1] : 0);
  for (let i = 0; i < need; i++) {
    if (!np.input[i])
      return `needs at least ${need} input${need > 1 ? 's' : ''}, but input ${i} is ${i < np.input.length ? 'empty' : 'missing'}`;
  }
  if (np.output[0] === '' && np.output.length === 1) return `its only output has no name`;
  return undefined;
}

// Every attribute name each common CNN op has had in any opset: an unknown one (a typo, a flipped byte) would be
// silently ignored by the analysis, and onnxruntime refuses it.
const WINDOW = ['auto_pad', 'kernel_shape', 'pads', 'strides', 'dilations'];
const BROADCAST = ['axis', 'broadcast', 'consumed_inputs'];
const ATTR_NAMES: Record<string, string[]> = {
  Conv: [...WINDOW, 'group'],
  ConvTranspose: [...WINDOW, 'group', 'output_padding', 'output_shape'],
  MaxPool: [...WINDOW, 'ceil_mode', 'storage_order'],
  AveragePool: [...WINDOW, 'ceil_mode', 'count_include_pad'],
  LpPool: [...WINDOW, 'ceil_mode', 'p'],
  GlobalAveragePool: [],
  GlobalMaxPool: [],
  BatchNormalization: ['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test', 'consumed_inputs'],
  Gemm: ['alpha', 'beta', 'transA', 'transB', 'broadcast'],
  MatMul: [],
  Add: BROADCAST,
  Sub: BROADCAST,
  Mul: BROADCAST,
  Div: BROADCAST,
  Relu: ['consumed_inputs'],
  Sigmoid: ['consumed_inputs'],
  Tanh: ['consumed_inputs'],
  LeakyRelu: ['alpha', 'consumed_inputs'],
  Clip: ['min', 'max', 'consumed_inputs'],
  HardSigmoid: ['alpha', 'beta', 'consumed_inputs'],
  HardSwish: [],
  Flatten: ['axis'],
  Concat: ['axis'],
  Softmax: ['axis'],
  LogSoftmax: ['axis'],
  Identity: [],
  Reshape: ['shape', 'allowzero', 'consumed_inputs'],
  Transpose: ['perm'],
  Dropout: ['ratio', 'is_test', 'seed', 'consumed_inputs'],
  Squeeze: ['axes'],
  Unsqueeze: ['axes'],
  ReduceMean: ['axes', 'keepdims', 'noop_with_empty_axes'],
};

// Attributes of those ops that exist only in a range of opsets: [first opset, first opset without it).
const ATTR_OPSETS: Record<string, Record<string, [number, number]>> = {
  MaxPool: { ceil_mode: [10, Infinity], dilations: [10, Infinity], storage_order: [8, Infinity] },
  AveragePool: { ceil_mode: [10, Infinity], dilations: [19, Infinity], count_include_pad: [7, Infinity] },
  BatchNormalization: { training_mode: [14, Infinity], spatial: [1, 9], is_test: [1, 7], consumed_inputs: [1, 6] },
  Gemm: { broadcast: [1, 7] },
  Add: { axis: [1, 7], broadcast: [1, 7], consumed_inputs: [1, 6] },
  Sub: { axis: [1, 7], broadcast: [1, 7], consumed_inputs: [1, 6] },
  Mul: { axis: [1, 7], broadcast: [1, 7], consumed_inputs: [1, 6] },
  Div: { axis: [1, 7], broadcast: [1, 7], consumed_inputs: [1, 6] },
  Relu: { consumed_inputs: [1, 6] },
  Dropout: { ratio: [1, 12], is_test: [1, 7], consumed_inputs: [1, 6], seed: [12, Infinity] },
  Reshape: { shape: [1, 5], consumed_inputs: [1, 5], allowzero: [14, Infinity] },
  Clip: { min: [1, 11], max: [1, 11], consumed_inputs: [1, 6] },
  Squeeze: { axes: [1, 13] },
  Unsqueeze: { axes: [1, 13] },
  ReduceMean: { axes: [1, 18], noop_with_empty_axes: [18, Infinity] },
};

// A problem with the node's attributes (unknown name or one its opset lacks, wrong type, out of range), or undefined.
export function checkOpAttributes(np: NodeProto, opset: number): string | undefined {
  const names = ATTR_NAMES[np.opType];
  const unknown = names && np.attribute.find((x) => !names.includes(x.name));
  if (unknown)
    return `unknown attribute '${unknown.name}' (${np.opType} has ${names.length ? names.join(', ') : 'none'})`;
  for (const a of np.attribute) {
    const range = ATTR_OPSETS[np.opType]?.[a.name];
    if (range && (opset < range[0] || opset >= range[1])) {
      return `attribute '${a.name}' exists in ${np.opType} ${range[1] === Infinity ? `from opset ${range[0]}` : `only before opset ${range[1]}`}, and the model imports opset ${opset}`;
    }
  }
  if (np.opType === 'BatchNormalization' && opset >= 14) {
    const training = np.attribute.find((a) => a.name === 'training_mode')?.i ?? 0n;
    const outs = np.output.filter((o) => o !== '').length;
    if (training === 0n && outs > 1)
      return `has ${outs} outputs, but in inference form (training_mode 0) it has exactly 1`;
  }
  const check = ATTRS[np.opType];
  if (!check) return undefined;
  try {
    return check(new Attrs(np), opset, np);
  } catch (err: unknown) {
    if (err instanceof AttrProblem) return err.message;
    throw err;
  }
}
