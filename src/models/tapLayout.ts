import type { Node, Value } from '../ir/graph.js';

// How a main-path value lays out an image's features: channels first (ONNX's own convention), channels last (what
// PyTorch's permute(0, 2, 3, 1) around LayerNorm/Linear gives: ConvNeXt blocks, Swin), transformer tokens [N, T, D],
// or a pooled vector. Taps are always handed out channels first, so a loss never sees the graph's internal layout.
export type TapLayout = 'nchw' | 'nhwc' | 'tokens' | 'vector';

const TO_NHWC = '0,2,3,1';
const TO_NCHW = '0,3,1,2';

// Ops whose output is channels first whatever their input (ONNX defines them on NCHW).
const CHANNELS_FIRST = new Set([
  'Conv',
  'ConvTranspose',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'BatchNormalization',
  'InstanceNormalization',
  'GroupNormalization',
  'Resize',
  'LpPool',
]);

// The layout of a value given the layout of the main-path value before it.
function next(v: Value, before: TapLayout): TapLayout | undefined {
  const rank = v.type?.shape?.length;
  if (rank === undefined) return undefined;
  if (rank === 3) return 'tokens';
  if (rank <= 2) return 'vector';
  if (rank !== 4) return undefined;
  const n: Node | undefined = v.producer;
  if (!n) return 'nchw';
  if (CHANNELS_FIRST.has(n.opType)) return 'nchw';
  if (n.opType === 'Transpose') {
    const perm = n.attrInts('perm', []).join(',');
    if (before === 'nchw' && perm === TO_NHWC) return 'nhwc';
    if (before === 'nhwc' && perm === TO_NCHW) return 'nchw';
    return undefined;
  }
  // Reshapes back to 4-D (a transformer's tokens folded into a map) are taken as channels first only from a map.
  if (n.opType === 'Reshape' || n.opType === 'Flatten') return before === 'nchw' ? 'nchw' : undefined;
  // Element-wise ops, LayerNormalization over the last axis, MatMul by a weight, Concat, Slice: the layout goes on.
  return before === 'tokens' || before === 'vector' ? undefined : before;
}

// The layout of every value of a main path (the graph input is channels first); undefined where it cannot be told.
export function chainLayouts(chain: Value[]): (TapLayout | undefined)[] {
  const out: (TapLayout | undefined)[] = [];
  let before: TapLayout = 'nchw';
  for (const [i, v] of chain.entries()) {
    const l: TapLayout | undefined = i === 0 ? 'nchw' : next(v, before);
    out.push(l);
    if (l) before = l;
  }
  return out;
}

// [H, W] of a 4-D feature map in its layout; 'pooled' once the spatial dims are gone (vector, tokens, or 1x1);
// undefined for unknown layouts or shapes (e.g. the 5-D view of a channel shuffle).
export function resolution(v: Value, layout: TapLayout | undefined): [number, number] | 'pooled' | undefined {
  const s = v.type?.shape;
  if (!s || !layout) return undefined;
  if (layout === 'vector' || layout === 'tokens') return 'pooled';
  const [h, w] = layout === 'nchw' ? [s[2], s[3]] : [s[1], s[2]];
  if (typeof h !== 'number' || typeof w !== 'number') return undefined;
  return h * w > 1 ? [h, w] : 'pooled';
}

// The channels-first shape of a channels-last one.
export function toNchwShape(shape: (number | string)[]): (number | string)[] {
  return [shape[0]!, shape[3]!, shape[1]!, shape[2]!];
}
