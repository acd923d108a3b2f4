import type { Node, ValueType } from '../graph.js';
import { dtypeFromCode } from '../dtype.js';
import { broadcastShapes, like, staticShape, type ShapeRule } from './util.js';

const same: ShapeRule = (n) => [like(n, 0, staticShape(n, 0))];

const UNARY = [
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Clip',
  'Identity',
  'Neg',
  'Abs',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Sign',
  'Softmax',
  'LogSoftmax',
  'Elu',
  'Selu',
  'Softplus',
  'Erf',
  'Round',
  'Not',
  'Cos',
  'Sin',
  'Gelu',
  'Mish',
  'PRelu',
  'Softsign',
  'ThresholdedRelu',
  'Shrink',
  'Celu',
  'HardMax',
  'Hardmax',
  'Tan',
  'Atan',
  'Asin',
  'Acos',
  'Sinh',
  'Cosh',
];

function broadcastAll(n: Node, dtypeFrom = 0, outDtype?: ValueType['dtype']): (ValueType | undefined)[] {
  const shapes = n.inputs.map((_, i) => staticShape(n, i));
  const t = n.inputs[dtypeFrom]?.type;
  if (!t) return [undefined];
  const dtype = outDtype ?? t.dtype;
  if (shapes.some((s) => !s)) return [{ dtype }];
  return [{ dtype, shape: shapes.reduce((a, b) => broadcastShapes(a!, b!, n), [] as number[])! }];
}

// Shape rules for element-wise ops (unary, broadcasting binary and variadic, comparisons).
export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  Dropout: (n) => [
    like(n, 0, staticShape(n, 0)),
    n.inputs[0]?.type ? { dtype: 'bool', ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) } : undefined,
  ],
  Add: (n) => broadcastAll(n),
  Sub: (n) => broadcastAll(n),
  Mul: (n) => broadcastAll(n),
  Div: (n) => broadcastAll(n),
  Pow: (n) => broadcastAll(n),
  Max: (n) => broadcastAll(n),
  Min: (n) => broadcastAll(n),
  Sum: (n) => broadcastAll(n),
  Mean: (n) => broadcastAll(n),
  Mod: (n) => broadcastAll(n),
  Where: (n) => broadcastAll(n, 1),
  Equal: (n) => broadcastAll(n, 0, 'bool'),
  Less: (n) => broadcastAll(n, 0, 'bool'),
  Greater: (n) => broadcastAll(n, 0, 'bool'),
  LessOrEqual: (n) => broadcastAll(n, 0, 'bool'),
  GreaterOrEqual: (n) => broadcastAll(n, 0, 'bool'),
  And: (n) => broadcastAll(n, 0, 'bool'),
  Or: (n) => broadcastAll(n, 0, 'bool'),
  IsNaN: (n) => [{ dtype: 'bool', ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) }],
  IsInf: (n) => [{ dtype: 'bool', ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) }],
  Cast: (n) => {
    const to = n.attrInt('to');
    const s = staticShape(n, 0);
    return [{ dtype: dtypeOf(to), ...(s ? { shape: s } : {}) }];
  },
  CastLike: (n) => [{ dtype: n.input(1).dtype, ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) }],
  QuantizeLinear: (n) => [
    { dtype: n.inputs[2]?.type?.dtype ?? 'uint8', ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) },
  ],
  DequantizeLinear: (n) => [{ dtype: 'float32', ...(staticShape(n, 0) ? { shape: staticShape(n, 0)! } : {}) }],
};

function dtypeOf(code: number): ValueType['dtype'] {
  return dtypeFromCode(code);
}
