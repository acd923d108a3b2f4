import type { Value } from '../../ir/graph.js';
import { filledTensor, normalTensor } from '../../ir/init.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';
import { gelu, layerNorm, layerNorm2d, param } from './_tokens.js';

// ConvNeXt (Liu et al., arXiv 2201.03545) at timm's smallest widths, laid out and named as timm's ConvNeXt with
// conv_mlp=True (stem.{0,1}, stages.i.downsample.{0,1}, stages.i.blocks.j.{conv_dw, norm, mlp.fc1, mlp.fc2, gamma},
// head.{norm, fc}): 7x7 depthwise conv, LayerNorm2d, 1x1-conv MLP ×4 with exact GELU, layer scale 1e-6, residual;
// LayerNorm2d + 2x2 stride-2 conv between stages; global pool, LayerNorm, Linear. Init as timm: conv and Linear
// weights N(0, 0.02²), biases 0. Depths 2-2-6-2. The stem is a 4x4 stride-4 patchify conv as in timm from 32 px up;
// smaller images get 2x2 (16 px up) or 1x1, so the last stage keeps at least one pixel (parameters then differ from
// timm's by the stem kernel only).
const REF = 'huggingface/pytorch-image-models timm/models/convnext.py (convnext_atto, convnext_femto)';
const DEPTHS = [2, 2, 6, 2];

// Conv2d with timm's ConvNeXt init (N(0, 0.02²) weight, zero bias), named `name.weight` / `name.bias`.
function conv(net: Net, x: Value, name: string, out: number, k: number, stride: number, groups = 1): Value {
  const cin = net.channels(x);
  const w = param(net, `${name}.weight`, normalTensor(net.rng, [out, cin / groups, k, k], 0.02));
  const bias = param(net, `${name}.bias`, filledTensor([out], 0));
  const pad = stride === 1 ? (k - 1) >> 1 : 0;
  const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group: groups };
  return net.b.node('Conv', [x, w, bias], attrs, { name })[0]!;
}

function block(net: Net, x: Value, name: string): Value {
  const c = net.channels(x);
  let y = layerNorm2d(net, conv(net, x, `${name}.conv_dw`, c, 7, 1, c), `${name}.norm`);
  y = conv(net, gelu(net, conv(net, y, `${name}.mlp.fc1`, 4 * c, 1, 1)), `${name}.mlp.fc2`, c, 1, 1);
  const gamma = param(net, `${name}.gamma`, filledTensor([c, 1, 1], 1e-6));
  return net.b.add(x, net.b.mul(y, gamma));
}

// The stem's patch: timm's 4 from 32 px up, else the largest of 2 and 1 that leaves the last stage a pixel.
export function stemPatch(height: number, width: number): number {
  const side = Math.min(height, width);
  return side >= 32 ? 4 : side >= 16 ? 2 : 1;
}

function buildConvnext(name: string, dims: number[], opts: ZooOptions) {
  const net = new Net(name, opts);
  const s = stemPatch(opts.height, opts.width);
  if (Math.min(opts.height, opts.width) < 8)
    throw new Error('ConvNeXt needs images of at least 8x8 (three 2x downsamplings after the stem)');
  let x = layerNorm2d(net, conv(net, net.input, 'stem.0', dims[0]!, s, s), 'stem.1');
  const stages: Value[] = [];
  dims.forEach((d, i) => {
    if (i > 0) x = conv(net, layerNorm2d(net, x, `stages.${i}.downsample.0`), `stages.${i}.downsample.1`, d, 2, 2);
    for (let j = 0; j < DEPTHS[i]!; j++) x = block(net, x, `stages.${i}.blocks.${j}`);
    stages.push(x);
  });
  const emb = layerNorm(net, net.pool(x), 'head.norm');
  const w = param(net, 'head.fc.weight', normalTensor(net.rng, [opts.classes, dims[3]!], 0.02));
  const logits = net.b.node(
    'Gemm',
    [emb, w, param(net, 'head.fc.bias', filledTensor([opts.classes], 0))],
    { transB: 1 },
    { name: 'head.fc', outputNames: ['logits'] },
  )[0]!;
  return net.finish(logits, {
    f0: stages[0]!,
    f1: stages[1]!,
    f2: stages[2]!,
    f3: stages[3]!,
    f4: emb,
    embedding: emb,
  });
}

const WIDTHS: [string, number[]][] = [
  ['convnext-atto', [40, 80, 160, 320]],
  ['convnext-femto', [48, 96, 192, 384]],
];

// timm's ConvNeXt-atto and -femto.
export const models: ZooEntry[] = WIDTHS.map(([name, dims]) => ({
  name,
  family: 'convnext',
  reference: REF,
  describe: `ConvNeXt, ${dims.join('/')} channels, depths ${DEPTHS.join('-')}`,
  build: (o) => buildConvnext(name, dims, o),
}));
