import type { Value } from '../../ir/graph.js';
import { filledTensor, normalTensor } from '../../ir/init.js';
import { Net } from '../net.js';
import type { ZooEntry, ZooOptions } from '../types.js';
import { gelu, layerNorm, linear, param, scalar } from './_tokens.js';

// Vision Transformer (Dosovitskiy et al., arXiv 2010.11929) at DeiT's shapes (Touvron et al., arXiv 2012.12877), laid out
// and named as timm's VisionTransformer (patch_embed.proj, cls_token, pos_embed, blocks.i.{norm1, attn.qkv, attn.proj,
// norm2, mlp.fc1, mlp.fc2}, norm, head): pre-norm blocks, qkv bias, exact GELU, LayerNorm eps 1e-6, the class token's
// final state as the embedding. Init as timm's default: Linear weights N(0, 0.02²), pos_embed N(0, 0.02²), cls_token
// N(0, 1e-6²), the patch conv PyTorch's default. Parameter counts equal timm's for the same configuration.
const REF = 'huggingface/pytorch-image-models timm/models/vision_transformer.py (deit_tiny/small_patch16_224 shapes)';

interface VitShape {
  dim: number;
  heads: number;
  depth: number;
  patch?: number;
}

// Multi-head self-attention on [N,T,D]: qkv in one Linear, heads split as [3,N,H,T,dh], softmax(q·kᵀ/√dh)·v.
function attention(net: Net, x: Value, name: string, heads: number): Value {
  const b = net.b;
  const d = x.shape[2]!;
  const dh = d / heads;
  const qkv = b.transpose(b.reshape(linear(net, x, `${name}.qkv`, 3 * d), [0, 0, 3, heads, dh]), [2, 0, 3, 1, 4]);
  const [q, k, v] = b
    .node('Split', [qkv, b.constant([1, 1, 1], 'int64')], { axis: 0 }, { outputs: 3 })
    .map((t) => b.op.Squeeze!([t, b.constant([0], 'int64')]));
  const scores = b.mul(b.matmul(q!, b.transpose(k!, [0, 1, 3, 2])), scalar(net, 1 / Math.sqrt(dh)));
  const out = b.matmul(b.op.Softmax!([scores], { axis: -1 }), v!);
  return linear(net, b.reshape(b.transpose(out, [0, 2, 1, 3]), [0, 0, d]), `${name}.proj`, d);
}

function block(net: Net, x: Value, name: string, heads: number): Value {
  const b = net.b;
  const d = x.shape[2]!;
  const y = b.add(x, attention(net, layerNorm(net, x, `${name}.norm1`), `${name}.attn`, heads));
  const h = linear(
    net,
    gelu(net, linear(net, layerNorm(net, y, `${name}.norm2`), `${name}.mlp.fc1`, 4 * d)),
    `${name}.mlp.fc2`,
    d,
  );
  return b.add(y, h);
}

// DeiT's patch 16 from 128 px up; below, patch 4 (CIFAR ViTs' 8x8 grid at 32 px).
export function defaultPatch(height: number, width: number): number {
  return Math.min(height, width) >= 128 ? 16 : 4;
}

function buildVit(name: string, s: VitShape, opts: ZooOptions) {
  const net = new Net(name, opts);
  const b = net.b;
  const p = s.patch ?? defaultPatch(opts.height, opts.width);
  if (p > Math.min(opts.height, opts.width))
    throw new Error(`patch ${p} is larger than the ${opts.height}x${opts.width} image`);
  const grid = net.conv(net.input, 'patch_embed.proj', {
    k: p,
    stride: p,
    pad: 0,
    out: s.dim,
    bias: true,
    init: 'torch-default',
  });
  const t = grid.shape[2]! * grid.shape[3]!;
  const patches = b.transpose(b.reshape(grid, [0, s.dim, t]), [0, 2, 1]);
  // [cls; patches] + pos_embed without Concat/Expand over a batch dim the graph does not know: the patch tokens padded
  // by one slot in front, plus the class token padded by T slots behind (so the batch stays dynamic).
  const cls = param(net, 'cls_token', normalTensor(net.rng, [1, 1, s.dim], 1e-6));
  const pos = param(net, 'pos_embed', normalTensor(net.rng, [1, t + 1, s.dim], 0.02));
  const front = b.op.Pad!([patches, b.constant([0, 1, 0, 0, 0, 0], 'int64')]);
  const clsSlot = b.op.Pad!([cls, b.constant([0, 0, 0, 0, t, 0], 'int64')]);
  let x = b.add(b.add(front, clsSlot), pos);
  for (let i = 0; i < s.depth; i++) x = block(net, x, `blocks.${i}`, s.heads);
  const emb = b.op.Gather!([layerNorm(net, x, 'norm'), b.constant(0, 'int64')], { axis: 1 });
  const w = param(net, 'head.weight', normalTensor(net.rng, [opts.classes, s.dim], 0.02));
  const logits = b.node(
    'Gemm',
    [emb, w, param(net, 'head.bias', filledTensor([opts.classes], 0))],
    { transB: 1 },
    { name: 'head', outputNames: ['logits'] },
  )[0]!;
  return net.finish(logits, { embedding: emb });
}

function entry(name: string, s: VitShape, what: string, patch?: number): ZooEntry {
  const full = patch ? `${name}-p${patch}` : name;
  const how = patch ? `patch ${patch}` : `patch 16 from 128 px, else 4; ${name}-p<N> for patch N`;
  return {
    name: full,
    family: 'vit',
    reference: REF,
    describe: `ViT, ${what} shape (${s.depth} blocks, width ${s.dim}, ${s.heads} heads), ${how}`,
    build: (o) => buildVit(full, { ...s, ...(patch ? { patch } : {}) }, o),
    withPatch: (p) => entry(name, s, what, p),
  };
}

// DeiT-tiny and -small: patch 16 at 128 px and up and 4 below, or any patch by name (`vit-tiny-p8`).
export const models: ZooEntry[] = [
  entry('vit-tiny', { dim: 192, heads: 3, depth: 12 }, 'DeiT-tiny'),
  entry('vit-small', { dim: 384, heads: 6, depth: 12 }, 'DeiT-small'),
];
